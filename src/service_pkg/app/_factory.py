"""What a ``Component`` factory may be, where a string names one, and how each kind is opened."""

from __future__ import annotations

import asyncio
import builtins
import importlib
import inspect
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from types import FrameType
from typing import Any

from dependency_injector import resources

from service_pkg.app._state import ShutdownReason
from service_pkg.exceptions import ConfigError, ConfigTypeError

__all__ = ("Closer", "check_factory", "import_factory", "open_factory")

Closer = Callable[[ShutdownReason], Awaitable[None]]

_KINDS = (
    "an async generator function, a generator function, a context manager factory or a "
    "Resource subclass"
)


def check_factory(factory: object) -> None:
    """Refuse what cannot be a component factory, at declaration.

    Raises:
        ConfigTypeError: ``factory`` is not callable, or is a plain ``async def``, which has no
            stop part.
    """
    if not callable(factory):
        raise ConfigTypeError("factory", factory, f"must be callable: {_KINDS}")
    if inspect.iscoroutinefunction(factory):
        raise ConfigTypeError(
            "factory",
            factory,
            f"must be {_KINDS}; a plain async function has no stop part",
        )


def import_factory(path: str, skip_module: str) -> Any:
    """Resolve a string factory the way dependency-injector's ``set_provides`` does.

    ``"pkg.mod.name"`` is imported; ``".mod.name"`` is relative to the calling module's
    package; a bare ``"name"`` is a builtin or a global of the calling module. The calling
    module is the first frame outside ``skip_module`` (the base class would see the kit's
    own frame, since its Cython code has none).

    Raises:
        ImportError: the module cannot be imported (as in dependency-injector).
        AttributeError: the module has no such name (as in dependency-injector).
        ConfigError: ``path`` is empty.
    """
    if not path:
        raise ConfigError("factory", path, "an import path must not be empty")
    caller = _caller_globals(skip_module)
    module_name, _, member = path.rpartition(".")
    if not module_name:
        if member in dir(builtins):
            return getattr(builtins, member)
        if member not in caller:
            name = caller.get("__name__", "?")
            raise AttributeError(f"module {name!r} has no attribute {member!r}")
        return caller[member]
    package = caller.get("__package__")
    if module_name.startswith(".") and not package:
        raise ImportError("Attempted relative import with no known parent package")
    return getattr(importlib.import_module(module_name, package=package), member)


def _caller_globals(skip_module: str) -> dict[str, Any]:
    frame: FrameType | None = inspect.currentframe()
    while frame is not None and frame.f_globals.get("__name__") in {__name__, skip_module}:
        frame = frame.f_back
    return {} if frame is None else frame.f_globals


async def open_factory(
    factory: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[Any, Closer | None]:
    """Run ``factory`` up to its value; return the value and what stops it."""
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
