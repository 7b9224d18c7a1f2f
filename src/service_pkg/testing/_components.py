"""``ComponentRunner``: what the ``components`` pytest fixture hands a test."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Self

from dependency_injector import containers, providers

from service_pkg.app import Application
from service_pkg.exceptions import ConfigError
from service_pkg.testing._run import run_components

__all__ = ("ComponentRunner",)


class ComponentRunner:
    """Starts subgraphs of containers with overrides, and stops every one of them at the end.

    Lifecycle: :meth:`start` overrides the named providers (dependency-injector's
    ``override_providers``), then starts the components it is asked for and what they need,
    as :func:`~service_pkg.testing.run_components` does, and returns the running
    :class:`~service_pkg.Application`. :meth:`aclose` (the fixture's teardown, also on a
    failed test) stops what was started, newest first, then resets the overrides; it is
    idempotent. A failed stop raises :class:`~service_pkg.exceptions.StopError` from
    :meth:`aclose`, so a test that leaks a broken stop fails.
    """

    def __init__(self) -> None:
        self._stack = AsyncExitStack()
        self._closed = False

    async def start(
        self,
        container: containers.Container,
        *names: str,
        overrides: Mapping[str, providers.Provider[object]] | None = None,
        shutdown_timeout: float = 10.0,
    ) -> Application:
        """Override ``overrides`` on ``container``, start ``names`` (all when empty).

        ``overrides`` maps provider names of ``container`` to the providers that replace them
        (``providers.Object(fake)`` for a ready value). A name the container does not have
        raises :class:`~service_pkg.exceptions.ConfigError` before anything starts.
        """
        if self._closed:
            raise RuntimeError("ComponentRunner: closed; each test gets a new one")
        for name in overrides or {}:
            if not isinstance(getattr(container, name, None), providers.Provider):
                raise ConfigError("overrides", name, "the container has no provider of that name")
        if overrides:
            self._stack.enter_context(container.override_providers(**overrides))
        return await self._stack.enter_async_context(
            run_components(container, *names, shutdown_timeout=shutdown_timeout)
        )

    async def aclose(self) -> None:
        """Stop everything started, newest first, and reset the overrides. Idempotent."""
        self._closed = True
        await self._stack.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
