"""What each component's health entry is made of, read off the running application."""

from __future__ import annotations

from collections.abc import Sequence

from service_pkg.app._health import HealthProbe
from service_pkg.app._leader import GroupSupervisor
from service_pkg.app._plan import Plan
from service_pkg.app._steps import Steps
from service_pkg.health import HealthStatus

__all__ = ("collect_probes",)


def collect_probes(
    plan: Plan | None,
    steps: Steps,
    supervisors: Sequence[GroupSupervisor],
) -> list[HealthProbe]:
    """One probe per component of ``plan``, in declaration order (none when not running).

    A started component is checked (``ok`` without a check); an override is ``ok`` unchecked
    (a test double has nothing to ping); a gated component whose group does not run is
    ``standby``, or ``failed`` (not affecting readiness) while its group is in back-off after
    a failed start; anything else is ``stopped``.
    """
    if plan is None:
        return []
    group_of = {member: s for s in supervisors for member in s.members}
    probes: list[HealthProbe] = []
    for name, slot in steps.slots.items():
        if name not in plan.nodes:  # not part of this application (components=)
            continue
        if slot.component is None:
            probes.append(HealthProbe(name, HealthStatus.OK))
            continue
        check = slot.metadata.health
        if slot.component.started:
            probes.append(HealthProbe(name, HealthStatus.OK, check, steps.value(name)))
            continue
        supervisor = group_of.get(name)
        if supervisor is None:
            probes.append(HealthProbe(name, HealthStatus.STOPPED))
        elif supervisor.failure is not None:
            probes.append(
                HealthProbe(
                    name, HealthStatus.FAILED, error=supervisor.failure, affects_readiness=False
                )
            )
        else:
            probes.append(HealthProbe(name, HealthStatus.STANDBY))
    return probes
