"""``Component``: a dependency-injector ``Resource`` whose lifecycle the Application owns."""

from __future__ import annotations

import copy
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, Generic, NoReturn, Self, TypeVar, cast, overload

from dependency_injector import providers, resources

from service_pkg._checks import seconds
from service_pkg.app._factory import Closer, check_factory, import_factory, open_factory
from service_pkg.app._state import Priority, ShutdownReason, _reason
from service_pkg.exceptions import ApplicationOwnedError, ConfigTypeError
from service_pkg.health import HealthCheck, factory_health

__all__ = ("DEFAULT_START_TIMEOUT", "DEFAULT_STOP_TIMEOUT", "Component", "default_stop_timeout")

T = TypeVar("T")
F = TypeVar("F")

DEFAULT_START_TIMEOUT = 30.0
"""Seconds a component may take to start unless it says otherwise."""
DEFAULT_STOP_TIMEOUT = 10.0
"""Seconds a component may take to stop unless it says otherwise."""

_STOP_BUDGET = "__service_pkg_stop_timeout__"

Health = Callable[[Any], object] | HealthCheck | None
"""What ``health=`` accepts: a check callable, a :class:`HealthCheck`, or ``None``."""


class Component(providers.Resource[T], Generic[T]):
    """A piece of infrastructure with a start and a stop, declared in a container.

    ``factory`` is one of:

    * an async generator function: the code before ``yield`` starts it, the yielded value is
      the component, and ``reason = yield value`` receives the :class:`ShutdownReason` when it
      stops;
    * a sync generator function (run in a worker thread, so its timeouts hold);
    * a callable returning an async (or sync) context manager, such as a class whose
      ``__aenter__`` starts it and returns it (the kit's own resource shape);
    * a ``dependency_injector.resources.AsyncResource`` (or ``Resource``) subclass;
    * a string import path to one of these (``"pkg.mod.open_db"``), resolved as
      dependency-injector resolves it.

    It may be left out and set later with :meth:`set_provides`, as with ``providers.Resource``.
    Positional and keyword arguments are dependency-injector injections: providers (other
    components, factories, configuration) are resolved when the component starts.

    Lifecycle contract: the :class:`~service_pkg.Application` starts a component after
    everything it depends on (directly or through factories and other providers), under
    ``start_timeout``; stops it before any of its dependencies, at most once, under
    ``stop_timeout``; and among components that are free to stop, smaller ``priority`` first.
    A component with ``leader=election`` starts only while that election holds leadership.
    ``health=`` is the check ``app.health()`` runs on the started value (by default the one
    the factory carries, see :func:`service_pkg.health.default_health`).

    Calling the provider returns the started value, and :attr:`initialized` is true, exactly
    while it is started. dependency-injector's own lifecycle calls are refused with
    :class:`~service_pkg.exceptions.ApplicationOwnedError` (a ``RuntimeError`` and a
    ``dependency_injector.errors.Error``), whose message says what to call instead: calling
    it before the start, ``init()`` / ``container.init_resources()``, ``shutdown()`` /
    ``container.shutdown_resources()`` while it runs, and copying it while it runs. Bad
    arguments raise :class:`~service_pkg.exceptions.ConfigError` here, at declaration
    (:class:`~service_pkg.exceptions.ConfigTypeError`, also a ``TypeError``, for a value of
    the wrong type such as a factory that is not callable).

    .. versionchanged:: 0.2.0
       ``health=``, :attr:`health`, :meth:`set_provides` and string factories honoured,
       :attr:`initialized` true while started, ``shutdown()`` refused.
    """

    @overload
    def __init__(
        self: Component[T],
        factory: type[resources.AsyncResource[T] | resources.Resource[T]],
        *args: Any,
        priority: int = ...,
        leader: providers.Provider[Any] | None = ...,
        health: Callable[[T], object] | HealthCheck | None = ...,
        start_timeout: float = ...,
        stop_timeout: float | None = ...,
        **kwargs: Any,
    ) -> None: ...

    @overload
    def __init__(
        self: Component[T],
        factory: Callable[..., AsyncIterator[T]] | Callable[..., Iterator[T]],
        *args: Any,
        priority: int = ...,
        leader: providers.Provider[Any] | None = ...,
        health: Callable[[T], object] | HealthCheck | None = ...,
        start_timeout: float = ...,
        stop_timeout: float | None = ...,
        **kwargs: Any,
    ) -> None: ...

    @overload
    def __init__(
        self: Component[T],
        factory: Callable[..., AbstractAsyncContextManager[T]]
        | Callable[..., AbstractContextManager[T]],
        *args: Any,
        priority: int = ...,
        leader: providers.Provider[Any] | None = ...,
        health: Callable[[T], object] | HealthCheck | None = ...,
        start_timeout: float = ...,
        stop_timeout: float | None = ...,
        **kwargs: Any,
    ) -> None: ...

    @overload
    def __init__(
        self: Component[Any],
        factory: object = ...,
        *args: Any,
        priority: int = ...,
        leader: providers.Provider[Any] | None = ...,
        health: Health = ...,
        start_timeout: float = ...,
        stop_timeout: float | None = ...,
        **kwargs: Any,
    ) -> None: ...

    def __init__(
        self,
        factory: Any = None,
        *args: Any,
        priority: int = Priority.MEDIUM,
        leader: providers.Provider[Any] | None = None,
        health: Health = None,
        start_timeout: float = DEFAULT_START_TIMEOUT,
        stop_timeout: float | None = None,
        **kwargs: Any,
    ) -> None:
        self._factory: Any = None
        self._value: Any = None
        self._closer: Closer | None = None
        self._started = False
        self._name: str | None = None
        # The base class calls set_provides(factory): strings resolve and the check runs there.
        super().__init__(factory, *args, **kwargs)
        # Started values are plain objects, so dependents resolve synchronously.
        self.disable_async_mode()
        self._priority = _check_priority(priority)
        self._leader = _check_leader(leader)
        self._health = _check_health(health)
        self._start_timeout = seconds("start_timeout", start_timeout)
        self._stop_timeout = None if stop_timeout is None else seconds("stop_timeout", stop_timeout)

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> Component[T]:
        """Copy the provider with its lifecycle metadata (dependency-injector drops it).

        Raises:
            ApplicationOwnedError: the component is started.
        """
        memo = {} if memo is None else memo
        found = memo.get(id(self))
        if found is not None:
            return cast("Component[T]", found)
        if self._started:
            raise ApplicationOwnedError(
                f"{self._label()} is started, and a started component cannot be copied "
                "(both copies would need stopping): copy the container before the application "
                "starts or after it stopped",
            )
        copied = cast("Component[T]", super().__deepcopy__(memo))
        copied._factory = self._factory  # noqa: SLF001
        copied._priority = self._priority  # noqa: SLF001
        copied._health = self._health  # noqa: SLF001
        copied._start_timeout = self._start_timeout  # noqa: SLF001
        copied._stop_timeout = self._stop_timeout  # noqa: SLF001
        copied._name = self._name  # noqa: SLF001
        if self._leader is not None:
            copied._leader = copy.deepcopy(self._leader, memo)  # noqa: SLF001
        return copied

    def set_provides(self, provides: Any) -> Self:
        """Set the factory, as ``providers.Resource.set_provides`` does; the next start uses it.

        A string is an import path: ``"pkg.mod.name"``, ``".mod.name"`` relative to the calling
        module's package, or a bare builtin or global name of the calling module. ``None``
        leaves the component without a factory (its start then fails). A running component
        keeps the stop part of the factory it started with.

        Raises:
            ConfigTypeError: what it names is not a component factory (see the class).
            ImportError: a string's module cannot be imported.
            AttributeError: a string's module has no such name.
        """
        factory = import_factory(provides, __name__) if isinstance(provides, str) else provides
        if factory is not None:
            check_factory(factory)
        super().set_provides(factory)
        self._factory = factory
        return self

    @property
    def factory(self) -> Any:
        """The effective factory: as declared or set by :meth:`set_provides`, strings resolved."""
        return self._factory

    @property
    def provides(self) -> Any:
        """The same as :attr:`factory`.

        dependency-injector stores a generator function wrapped in a context manager factory;
        a component runs the generator itself (so that it receives the
        :class:`ShutdownReason`), and reports the function it was given.
        """
        return self._factory

    @property
    def priority(self) -> int:
        """Stop priority: among components free to stop, a smaller number stops earlier."""
        return self._priority

    @property
    def leader(self) -> providers.Provider[Any] | None:
        """The election component this one is gated by, or ``None`` for always-on."""
        return self._leader

    @property
    def health(self) -> HealthCheck | None:
        """The check ``app.health()`` runs: ``health=``, else the factory's default, else none.

        The factory's default is what :func:`service_pkg.health.default_health` attached to
        the effective :attr:`factory`.
        """
        return self._health if self._health is not None else factory_health(self._factory)

    @property
    def start_timeout(self) -> float:
        """Seconds the start may take before it is cancelled and counts as failed."""
        return self._start_timeout

    @property
    def stop_timeout(self) -> float:
        """Seconds the stop may take before it is cancelled and counts as failed.

        ``stop_timeout=`` when given; else, while started, what the factory's
        :func:`default_stop_timeout` budget says for the started value (a server's drain);
        else :data:`DEFAULT_STOP_TIMEOUT`.
        """
        if self._stop_timeout is not None:
            return self._stop_timeout
        budget = getattr(self._factory, _STOP_BUDGET, None)
        if budget is not None and self._started:
            return seconds("stop_timeout", budget(self._value))
        return DEFAULT_STOP_TIMEOUT

    @property
    def started(self) -> bool:
        """Whether the component is running (its value is available)."""
        return self._started

    @property
    def initialized(self) -> bool:
        """dependency-injector's name for :attr:`started`: true exactly while it runs."""
        return self._started

    @property
    def related(self) -> Any:
        """Providers this one refers to, the ``leader=`` election included."""
        yield from super().related
        if self._leader is not None:
            yield self._leader

    def init(self) -> NoReturn:
        """Refuse dependency-injector's own start: the Application owns this lifecycle.

        Raises:
            ApplicationOwnedError: always; ``container.init_resources()`` raises it too.
        """
        raise ApplicationOwnedError(
            f"{self._label()} is a service_pkg Component: start it with "
            "service_pkg.Application (or service_pkg.testing.run_components in tests), "
            "not with init() / container.init_resources()",
        )

    def shutdown(self) -> NoReturn:
        """Refuse dependency-injector's own stop: the Application owns this lifecycle.

        ``container.shutdown_resources()`` calls this for each component that runs, so it
        raises too while any runs; when none runs it has nothing to stop and returns
        ``None``, as dependency-injector does for synchronous resources.

        Raises:
            ApplicationOwnedError: always.
        """
        state = "runs" if self._started else "is not running"
        raise ApplicationOwnedError(
            f"{self._label()} {state}; its lifecycle belongs to service_pkg.Application, "
            "which stops it: call `await app.stop()` (or leave `async with app:` / "
            "`run_components(...)`) instead of shutdown() / container.shutdown_resources()",
        )

    def _provide(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:  # noqa: ARG002 - DI's signature
        if not self._started:
            raise ApplicationOwnedError(
                f"{self._label()} is not started: start the container with "
                "service_pkg.Application, or service_pkg.testing.run_components in tests",
            )
        return self._value

    def _label(self) -> str:
        if self._name:
            return f"component {self._name!r}"
        if self._factory is None:
            return "a component without a factory"
        return f"component {self._factory!r}"

    async def _start(self) -> None:
        """Resolve the injections, run the factory up to its value, and keep the closer."""
        factory = self._factory
        if factory is None:
            raise TypeError(
                f"{self._label()} has no factory: pass one to Component(...) or call "
                "set_provides() before the application starts",
            )
        args, kwargs = await _resolve(self.args, self.kwargs)
        self._value, self._closer = await open_factory(factory, args, kwargs)
        self._started = True

    async def _stop(self, reason: ShutdownReason) -> None:
        """Run the factory's stop part exactly once; the component counts as stopped after."""
        closer, self._closer = self._closer, None
        self._started = False
        self._value = None
        if closer is None:
            return
        token = _reason.set(reason)
        try:
            await closer(reason)
        finally:
            _reason.reset(token)


def _check_health(health: object) -> HealthCheck | None:
    if health is None or isinstance(health, HealthCheck):
        return health
    if not callable(health):
        raise ConfigTypeError(
            "health",
            health,
            "must be a check callable (it gets the started value) or a "
            "service_pkg.health.HealthCheck",
        )
    return HealthCheck(check=health)


def _check_priority(priority: object) -> int:
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ConfigTypeError("priority", priority, "must be an int (see service_pkg.Priority)")
    return int(priority)


def _check_leader(leader: object) -> providers.Provider[Any] | None:
    if leader is not None and not isinstance(leader, providers.Provider):
        raise ConfigTypeError("leader", leader, "must be the provider of an election component")
    return leader


def _collect(*args: Any, **kwargs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    return args, kwargs


async def _resolve(
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if not args and not kwargs:
        return (), {}
    direct = _resolve_directly(args, kwargs)
    if direct is not None:
        return direct
    # A Callable provider resolves injections exactly as dependency-injector would
    # (configuration options, provided attributes, async factories...).
    resolved: Any = providers.Callable(_collect, *args, **kwargs)()
    if inspect.isawaitable(resolved):
        resolved = await resolved
    return cast("tuple[tuple[Any, ...], dict[str, Any]]", resolved)


_NOT_DIRECT = object()


def _direct_value(value: Any) -> Any:
    # What dependency-injector would inject, when that needs no provider call: plain values
    # as they are, and started components that nothing overrides.
    if isinstance(value, Component):
        if value.last_overriding is None and value.started:
            return value._value  # noqa: SLF001
        return _NOT_DIRECT
    if isinstance(value, providers.Provider):
        return _NOT_DIRECT
    return value


def _resolve_directly(
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    """The common case without building a ``Callable`` (a large share of start time)."""
    direct_args = tuple(_direct_value(a) for a in args)
    direct_kwargs = {k: _direct_value(v) for k, v in kwargs.items()}
    if any(v is _NOT_DIRECT for v in (*direct_args, *direct_kwargs.values())):
        return None
    return direct_args, direct_kwargs


def default_stop_timeout(budget: Callable[[Any], float]) -> Callable[[F], F]:
    """Decorate a component factory with the stop timeout its components get by default.

    ``budget(value)`` receives the started value and returns the seconds its stop needs (a
    server: its graceful drain plus closing), so a configured drain and the component's stop
    timeout never contradict. ``Component(factory, stop_timeout=...)`` still wins. The
    factory is returned as is; only an attribute is set on it.
    """

    def mark(factory: F) -> F:
        setattr(factory, _STOP_BUDGET, budget)
        return factory

    return mark
