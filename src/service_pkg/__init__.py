"""service-pkg: an asyncio runtime kit for production services.

Declare infrastructure as :class:`Component` providers in a dependency-injector container and
let :class:`Application` start them in dependency order, own the OS signals and stop them by
priority. Capabilities live in their own modules (``service_pkg.leader``,
``service_pkg.readiness``, ``service_pkg.logs``, ``service_pkg.testing``...).
"""

from service_pkg.app import Application as Application
from service_pkg.app import Component as Component
from service_pkg.app import Priority as Priority
from service_pkg.app import RunState as RunState
from service_pkg.app import ShutdownReason as ShutdownReason
from service_pkg.exceptions import ConfigError as ConfigError
from service_pkg.exceptions import PlanError as PlanError
from service_pkg.exceptions import ServiceKitError as ServiceKitError
from service_pkg.exceptions import StartError as StartError
from service_pkg.exceptions import StopError as StopError

__all__ = (
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
)
