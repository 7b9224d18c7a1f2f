"""`__all__` is a tested contract: sorted tuples, complete, nothing private leaks."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest

import service_pkg
from service_pkg import Priority, exceptions
from service_pkg.leader import LeaderEvent


def public_modules() -> list[ModuleType]:
    found = [service_pkg]
    for info in pkgutil.walk_packages(service_pkg.__path__, "service_pkg."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        found.append(importlib.import_module(info.name))
    return found


MODULES = public_modules()


def isort_key(name: str) -> tuple[int, str]:
    if name.isupper():
        return (0, name)
    return (1 if name[0].isupper() else 2, name)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_all_is_a_sorted_tuple(module: ModuleType) -> None:
    """Every public module declares __all__ as a sorted tuple without duplicates.

    Sorted as ruff's RUF022 sorts it: CONSTANTS, then Classes, then functions.
    """
    exported = module.__dict__.get("__all__")
    assert isinstance(exported, tuple)
    assert list(exported) == sorted(set(exported), key=isort_key)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_all_names_exist_and_are_public(module: ModuleType) -> None:
    """Each exported name resolves and none starts with an underscore."""
    for name in module.__all__:
        assert not name.startswith("_")
        assert hasattr(module, name), name


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
def test_public_definitions_are_exported(module: ModuleType) -> None:
    """Public classes and functions defined in a module are listed in its __all__."""
    for name, value in vars(module).items():
        if name.startswith("_") or not (inspect.isclass(value) or inspect.isfunction(value)):
            continue
        if value.__module__ == module.__name__:
            assert name in module.__all__, f"{module.__name__}.{name} is not in __all__"


def test_top_level_exports_only_the_core() -> None:
    """The package root re-exports the core names and errors, no integration."""
    assert set(service_pkg.__all__) == {
        "Application",
        "Component",
        "ConfigError",
        "PlanError",
        "Priority",
        "RunState",
        "ServiceKitError",
        "ShutdownReason",
        "StartError",
        "StopError",
    }


def test_every_exception_derives_from_the_root() -> None:
    """One exception tree: everything in service_pkg.exceptions is a ServiceKitError."""
    for name in exceptions.__all__:
        assert issubclass(getattr(exceptions, name), exceptions.ServiceKitError)


def test_go_constants_are_kept() -> None:
    """Event numbers and priorities are the Go values."""
    assert (LeaderEvent.LOST, LeaderEvent.TAKEN) == (1, 2)
    assert [p.value for p in Priority] == [1, 20, 50, 100, 500, 1000, 10000]
