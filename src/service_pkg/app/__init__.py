"""The lifecycle runtime: components, the plan, the application, signals and leader gating."""

from service_pkg.app._application import DEFAULT_GATED_BACKOFF as DEFAULT_GATED_BACKOFF
from service_pkg.app._application import DEFAULT_GATED_BACKOFF_MAX as DEFAULT_GATED_BACKOFF_MAX
from service_pkg.app._application import DEFAULT_SHUTDOWN_TIMEOUT as DEFAULT_SHUTDOWN_TIMEOUT
from service_pkg.app._application import Application as Application
from service_pkg.app._component import DEFAULT_START_TIMEOUT as DEFAULT_START_TIMEOUT
from service_pkg.app._component import DEFAULT_STOP_TIMEOUT as DEFAULT_STOP_TIMEOUT
from service_pkg.app._component import Component as Component
from service_pkg.app._component import default_stop_timeout as default_stop_timeout
from service_pkg.app._plan import Node as Node
from service_pkg.app._plan import NodeKind as NodeKind
from service_pkg.app._plan import Plan as Plan
from service_pkg.app._plan import build_plan as build_plan
from service_pkg.app._runtime import Runtime as Runtime
from service_pkg.app._signals import DUPLICATE_WINDOW as DUPLICATE_WINDOW
from service_pkg.app._signals import FORCE_EXIT_GRACE as FORCE_EXIT_GRACE
from service_pkg.app._state import Priority as Priority
from service_pkg.app._state import RunState as RunState
from service_pkg.app._state import ShutdownReason as ShutdownReason
from service_pkg.app._state import current_shutdown_reason as current_shutdown_reason

__all__ = (
    "DEFAULT_GATED_BACKOFF",
    "DEFAULT_GATED_BACKOFF_MAX",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "DEFAULT_START_TIMEOUT",
    "DEFAULT_STOP_TIMEOUT",
    "DUPLICATE_WINDOW",
    "FORCE_EXIT_GRACE",
    "Application",
    "Component",
    "Node",
    "NodeKind",
    "Plan",
    "Priority",
    "RunState",
    "Runtime",
    "ShutdownReason",
    "build_plan",
    "current_shutdown_reason",
    "default_stop_timeout",
)
