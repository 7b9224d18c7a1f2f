"""The service's container: every piece of infrastructure as a component."""

from __future__ import annotations

from dependency_injector import containers, providers
from service_pkg import Component, Priority
from service_pkg.clock import SystemClock
from service_pkg.leader import standalone_election

from example_service.components import heartbeat, leader_job
from example_service.settings import Settings

__all__ = ("Container",)


class Container(containers.DeclarativeContainer):
    """Tests override ``settings``, ``clock`` or ``election`` with dependency-injector's API."""

    settings = providers.Singleton(Settings.from_env)
    clock = providers.Singleton(SystemClock)

    # In-process election: this replica is always the leader. The Redis election replaces it
    # when the service runs as several replicas.
    election = Component(standalone_election, priority=Priority.LOW)

    heartbeat = Component(
        heartbeat,
        clock,
        settings.provided.heartbeat_interval,
        priority=Priority.MEDIUM,
    )
    leader_job = Component(
        leader_job,
        clock,
        settings.provided.leader_interval,
        election,
        leader=election,
        priority=Priority.HIGH,
    )
