"""Prometheus metrics for every component, from the lifecycle event stream (extra ``metrics``).

One :class:`KitMetrics` (a private ``prometheus_client`` registry and the kit's
instruments) per application, built by the ``metrics`` component, which subscribes to the
runtime's event stream: lifecycle, health and leadership metrics come from events; the job
series (counters and histograms the scheduler keeps itself, :func:`scheduler_metrics`) and
gauges of current state (pools, is-leader, epoch) are read at scrape time. The server edges
are wrappers: :class:`HttpMetricsMiddleware` (plain ASGI) and :func:`instrument_grpc_server`
(grpclib listeners). ``/metrics`` is served by :func:`metrics_asgi_app` inside an HTTP server,
or by the standalone :func:`metrics_exporter` component.

.. code-block:: python

    class Container(containers.DeclarativeContainer):
        runtime = providers.Dependency(instance_of=Runtime)
        metrics = Component(metrics, runtime, priority=METRICS_PRIORITY)
        exporter = Component(metrics_exporter, metrics, ExporterConfig(port=9464))
        jobs = Component(scheduler, SchedulerConfig(name="jobs"), [...])
        job_metrics = Component(scheduler_metrics, metrics, jobs)

The metric table is in ``docs/observability.md``.

.. versionadded:: 0.3.0
"""

try:
    import prometheus_client as _prometheus_client
except ImportError as exc:
    from service_pkg.exceptions import MissingDependencyError

    raise MissingDependencyError("service_pkg.metrics", "metrics") from exc

from service_pkg.metrics._component import METRICS_PRIORITY as METRICS_PRIORITY
from service_pkg.metrics._component import election_metrics as election_metrics
from service_pkg.metrics._component import metrics as metrics
from service_pkg.metrics._component import pool_metrics as pool_metrics
from service_pkg.metrics._edges import DEFAULT_EXCLUDED_PATHS as DEFAULT_EXCLUDED_PATHS
from service_pkg.metrics._edges import OTHER as OTHER
from service_pkg.metrics._edges import HttpMetricsMiddleware as HttpMetricsMiddleware
from service_pkg.metrics._edges import instrument_grpc_server as instrument_grpc_server
from service_pkg.metrics._edges import litestar_route as litestar_route
from service_pkg.metrics._events import PREFIX as PREFIX
from service_pkg.metrics._exporter import ExporterConfig as ExporterConfig
from service_pkg.metrics._exporter import MetricsExporter as MetricsExporter
from service_pkg.metrics._exporter import metrics_asgi_app as metrics_asgi_app
from service_pkg.metrics._exporter import metrics_exporter as metrics_exporter
from service_pkg.metrics._pools import PoolStats as PoolStats
from service_pkg.metrics._pools import pool_families as pool_families
from service_pkg.metrics._pools import sqlalchemy_pool_stats as sqlalchemy_pool_stats
from service_pkg.metrics._registry import DEFAULT_BUCKETS as DEFAULT_BUCKETS
from service_pkg.metrics._registry import KitMetrics as KitMetrics
from service_pkg.metrics._registry import MetricsConfig as MetricsConfig
from service_pkg.metrics._scheduler import scheduler_metrics as scheduler_metrics

del _prometheus_client

__all__ = (
    "DEFAULT_BUCKETS",
    "DEFAULT_EXCLUDED_PATHS",
    "METRICS_PRIORITY",
    "OTHER",
    "PREFIX",
    "ExporterConfig",
    "HttpMetricsMiddleware",
    "KitMetrics",
    "MetricsConfig",
    "MetricsExporter",
    "PoolStats",
    "election_metrics",
    "instrument_grpc_server",
    "litestar_route",
    "metrics",
    "metrics_asgi_app",
    "metrics_exporter",
    "pool_families",
    "pool_metrics",
    "scheduler_metrics",
    "sqlalchemy_pool_stats",
)
