"""Leader election: the ``LeaderElection`` protocol and its lock-based implementation.

A component declared with ``leader=election`` starts when ``election.events()`` yields
:attr:`LeaderEvent.TAKEN` and stops when it yields :attr:`LeaderEvent.LOST` (or the iterator
ends). The numbers are the Go ``watchdog`` constants (``LostAcquire = 1``,
``TakenAcquire = 2``).

* :class:`LockElection` / :func:`lock_election`: election over any
  :class:`~service_pkg.lock.Lock`; :func:`leader_election` builds it over Redis.
* :class:`StandaloneElection` / :func:`standalone_election`: an election of one, leader from
  start to stop (development and single-replica deployments).

Every election steps down on :meth:`~LeaderElection.resign` and stays out of acquisitions for
the hold-off it is given; :attr:`~LeaderElection.last_reason` tells why the last transition
happened. Each is one resource: ``async with election:`` starts it, ``await
election.aclose()`` stops it, and its factory is a plain function returning it unstarted.
"""

from service_pkg.leader._config import DEFAULT_EXPIRATION as DEFAULT_EXPIRATION
from service_pkg.leader._config import ELECTION_CLICKHOUSE_BUSHER as ELECTION_CLICKHOUSE_BUSHER
from service_pkg.leader._config import ELECTION_CRON as ELECTION_CRON
from service_pkg.leader._config import (
    ELECTION_SHK_ON_PLACE_STREAM_PROCESSOR_DOWNLOADER as ELECTION_SHK_ON_PLACE_STREAM_PROCESSOR_DOWNLOADER,  # noqa: E501
)
from service_pkg.leader._config import LeaderConfig as LeaderConfig
from service_pkg.leader._config import LeaderStats as LeaderStats
from service_pkg.leader._election import LockElection as LockElection
from service_pkg.leader._election import lock_election as lock_election
from service_pkg.leader._protocol import LeaderElection as LeaderElection
from service_pkg.leader._protocol import LeaderEvent as LeaderEvent
from service_pkg.leader._redis import leader_election as leader_election
from service_pkg.leader._standalone import StandaloneElection as StandaloneElection
from service_pkg.leader._standalone import standalone_election as standalone_election

__all__ = (
    "DEFAULT_EXPIRATION",
    "ELECTION_CLICKHOUSE_BUSHER",
    "ELECTION_CRON",
    "ELECTION_SHK_ON_PLACE_STREAM_PROCESSOR_DOWNLOADER",
    "LeaderConfig",
    "LeaderElection",
    "LeaderEvent",
    "LeaderStats",
    "LockElection",
    "StandaloneElection",
    "leader_election",
    "lock_election",
    "standalone_election",
)
