"""``Component``: a dependency-injector ``Resource`` whose lifecycle the Application owns."""

from __future__ import annotations

import asyncio
import copy
import inspect
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Generator, Iterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Any, Generic, TypeVar, cast, overload

from dependency_injector import providers, resources

from service_pkg._checks import seconds
from service_pkg.app._state import Priority, ShutdownReason, _reason
from service_pkg.exceptions import ConfigError

__all__ = ("DEFAULT_START_TIMEOUT", "DEFAULT_STOP_TIMEOUT", "Component")

T = TypeVar("T")

DEFAULT_START_TIMEOUT = 30.0
"""Seconds a component may take to start unless it says otherwise."""
DEFAULT_STOP_TIMEOUT = 10.0
"""Seconds a component may take to stop unless it says otherwise."""

_UNSET: Any = object()

Closer = Callable[[ShutdownReason], Awaitable[None]]


class Component(providers.Resource[T], Generic[T]):
    """A piece of infrastructure with a start and a stop, declared in a container.

    ``factory`` is one of:

    * an async generator function: the code before ``yield`` starts it, the yielded value is
      the component, and ``reason = yield value`` receives the :class:`ShutdownReason` when it
      stops;
    * a sync generator function (run in a worker thread, so its timeouts hold);
    * a callable returning an async (or sync) context manager;
    * a ``dependency_injector.resources.AsyncResource`` (or ``Resource``) subclass.

    Positional and keyword arguments are dependency-injector injections: providers (other
    components, factories, configuration) are resolved when the component starts.

    Lifecycle contract: the :class:`~service_pkg.Application` starts a component after
    everything it depends on (directly or through factories and other providers), under
    ``start_timeout``; stops it before any of its dependencies, at most once, under
    ``stop_timeout``; and among components that are free to stop, smaller ``priority`` first.
    A component with ``leader=election`` starts only while that election holds leadership.
    Calling the provider returns the started value; calling it before start raises
    :class:`RuntimeError`. Bad arguments raise :class:`~service_pkg.exceptions.ConfigError`
    here, at declaration.
    """

    @overload
    def __init__(
        self: Component[T],
        factory: type[resources.AsyncResource[T] | resources.Resource[T]],
        *args: Any,
        priority: int = ...,
        leader: providers.Provider[Any] | None = ...,
        start_timeout: float = ...,
        stop_timeout: float = ...,
        **kwargs: Any,
    ) -> None: ...

    @overload
    def __init__(
        self: Component[T],
        factory: Callable[..., AsyncIterator[T]] | Callable[..., Iterator[T]],
        *args: Any,
        priority: int = ...,
        leader: providers.Provider[Any] | None = ...,
        start_timeout: float = ...,
        stop_timeout: float = ...,
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
        start_timeout: float = ...,
        stop_timeout: float = ...,
        **kwargs: Any,
    ) -> None: ...

    @overload
    def __init__(
        self: Component[Any],
        factory: object = ...,
        *args: Any,
        priority: int = ...,
        leader: providers.Provider[Any] | None = ...,
        start_timeout: float = ...,
        stop_timeout: float = ...,
        **kwargs: Any,
    ) -> None: ...

    def __init__(
        self,
        factory: Any = _UNSET,
        *args: Any,
        priority: int = Priority.MEDIUM,
        leader: providers.Provider[Any] | None = None,
        start_timeout: float = DEFAULT_START_TIMEOUT,
        stop_timeout: float = DEFAULT_STOP_TIMEOUT,
        **kwargs: Any,
    ) -> None:
        self._factory: Any = None
        self._priority = int(Priority.MEDIUM)
        self._leader: providers.Provider[Any] | None = None
        self._start_timeout = DEFAULT_START_TIMEOUT
        self._stop_timeout = DEFAULT_STOP_TIMEOUT
        self._value: Any = None
        self._closer: Closer | None = None
        self._started = False
        self._name: str | None = None
        if factory is _UNSET:
            # dependency-injector copies providers by calling the class with no arguments
            # and filling the fields in afterwards (see __deepcopy__).
            super().__init__()
            self.disable_async_mode()
            return
        _check_factory(factory)
        super().__init__(factory, *args, **kwargs)
        # Started values are plain objects, so dependents resolve synchronously.
        self.disable_async_mode()
        self._factory = factory
        self._priority = _check_priority(priority)
        self._leader = _check_leader(leader)
        self._start_timeout = seconds("start_timeout", start_timeout)
        self._stop_timeout = seconds("stop_timeout", stop_timeout)

    def __deepcopy__(self, memo: dict[Any, Any] | None = None) -> Component[T]:
        """Copy the provider with its lifecycle metadata (dependency-injector drops it)."""
        if self._started:
            raise RuntimeError("a started component cannot be copied; stop the application first")
        copied = cast("Component[T]", super().__deepcopy__(memo))
        copied._factory = self._factory  # noqa: SLF001
        copied._priority = self._priority  # noqa: SLF001
        copied._start_timeout = self._start_timeout  # noqa: SLF001
        copied._stop_timeout = self._stop_timeout  # noqa: SLF001
        copied._name = self._name  # noqa: SLF001
        if self._leader is not None:
            copied._leader = copy.deepcopy(self._leader, memo)  # noqa: SLF001
        return copied

    @property
    def factory(self) -> Any:
        """The factory as declared (generator function, CM factory or resource class)."""
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
    def start_timeout(self) -> float:
        """Seconds the start may take before it is cancelled and counts as failed."""
        return self._start_timeout

    @property
    def stop_timeout(self) -> float:
        """Seconds the stop may take before it is cancelled and counts as failed."""
        return self._stop_timeout

    @property
    def started(self) -> bool:
        """Whether the component is running (its value is available)."""
        return self._started

    @property
    def related(self) -> Any:
        """Providers this one refers to, the ``leader=`` election included."""
        yield from super().related
        if self._leader is not None:
            yield self._leader

    def init(self) -> Any:
        """Refuse dependency-injector's own lifecycle: the Application owns this one."""
        raise RuntimeError(
            f"{self._label()} is a service_pkg Component: start it with "
            "service_pkg.Application (or service_pkg.testing.run_components in tests), "
            "not with init() / container.init_resources()",
        )

    def _provide(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:  # noqa: ARG002 - DI's signature
        if not self._started:
            raise RuntimeError(
                f"{self._label()} is not started: start the container with "
                "service_pkg.Application, or service_pkg.testing.run_components in tests",
            )
        return self._value

    def _label(self) -> str:
        return f"component {self._name!r}" if self._name else f"component {self._factory!r}"

    async def _start(self) -> None:
        """Resolve the injections, run the factory up to its value, and keep the closer."""
        args, kwargs = await _resolve(self.args, self.kwargs)
        self._value, self._closer = await _open(self._factory, args, kwargs)
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


def _check_factory(factory: object) -> None:
    if not callable(factory):
        raise ConfigError("factory", factory, "must be callable")
    if inspect.iscoroutinefunction(factory):
        raise ConfigError(
            "factory",
            factory,
            "must be an async generator function, a generator function, a context manager "
            "factory or a Resource subclass; a plain async function has no stop part",
        )


def _check_priority(priority: object) -> int:
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ConfigError("priority", priority, "must be an int (see service_pkg.Priority)")
    return int(priority)


def _check_leader(leader: object) -> providers.Provider[Any] | None:
    if leader is not None and not isinstance(leader, providers.Provider):
        raise ConfigError("leader", leader, "must be the provider of an election component")
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


async def _open(
    factory: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[Any, Closer | None]:
    if inspect.isasyncgenfunction(factory):
        return await _open_async_gen(factory(*args, **kwargs))
    if inspect.isgeneratorfunction(factory):
        return await _open_sync_gen(factory(*args, **kwargs))
    if inspect.isclass(factory) and issubclass(factory, resources.AsyncResource):
        return await _open_async_resource(factory(), args, kwargs)
    if inspect.isclass(factory) and issubclass(factory, resources.Resource):
        return await _open_sync_resource(factory(), args, kwargs)
    obj = factory(*args, **kwargs)
    if hasattr(obj, "__aenter__") and hasattr(obj, "__aexit__"):
        value = await obj.__aenter__()

        async def aexit(_: ShutdownReason) -> None:
            await obj.__aexit__(None, None, None)

        return value, aexit
    if hasattr(obj, "__enter__") and hasattr(obj, "__exit__"):
        value = await asyncio.to_thread(obj.__enter__)

        async def sexit(_: ShutdownReason) -> None:
            await asyncio.to_thread(obj.__exit__, None, None, None)

        return value, sexit
    if inspect.iscoroutine(obj):
        obj.close()
    raise TypeError(
        f"factory {factory!r} returned {type(obj).__name__}, which is not a context manager; "
        "write it as an async generator (start; yield value; stop)",
    )


async def _open_async_gen(agen: AsyncGenerator[Any, Any]) -> tuple[Any, Closer]:
    try:
        value = await agen.__anext__()
    except StopAsyncIteration:
        raise RuntimeError("async generator factory finished without yielding a value") from None

    async def close(reason: ShutdownReason) -> None:
        try:
            await agen.asend(reason)
        except StopAsyncIteration:
            return
        await agen.aclose()
        raise RuntimeError("async generator factory yielded more than once")

    return value, close


_DONE = object()


def _step(gen: Generator[Any, Any, Any], value: object) -> object:
    # StopIteration cannot cross a Future (PEP 479), so it becomes a sentinel here.
    try:
        return gen.send(value)
    except StopIteration:
        return _DONE


async def _open_sync_gen(gen: Generator[Any, Any, Any]) -> tuple[Any, Closer]:
    value = await asyncio.to_thread(_step, gen, None)
    if value is _DONE:
        raise RuntimeError("generator factory finished without yielding a value")

    async def close(reason: ShutdownReason) -> None:
        if await asyncio.to_thread(_step, gen, reason) is not _DONE:
            gen.close()
            raise RuntimeError("generator factory yielded more than once")

    return value, close


async def _open_async_resource(
    res: resources.AsyncResource[Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[Any, Closer]:
    value = await res.init(*args, **kwargs)

    async def close(_: ShutdownReason) -> None:
        await res.shutdown(value)

    return value, close


async def _open_sync_resource(
    res: resources.Resource[Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[Any, Closer]:
    value = await asyncio.to_thread(res.init, *args, **kwargs)

    async def close(_: ShutdownReason) -> None:
        await asyncio.to_thread(res.shutdown, value)

    return value, close
