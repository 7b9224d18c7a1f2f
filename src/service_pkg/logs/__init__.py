"""Logging for services built on the kit: JSON to stdout, and correlation ids.

Library code only creates loggers, always named after its capability::

    logger = logging.getLogger("service_pkg.<capability>")  # "service_pkg.app", ".lock", ...

and never installs handlers, calls :func:`logging.basicConfig` or prints. A service calls
:func:`configure` once at start-up (``example_service`` does) to get one JSON object per line on
stdout; tests pass ``stream=`` to capture it.

Every record carries the correlation id bound in the current context with
:func:`bind_correlation_id` (``null`` when none is bound). The HTTP and gRPC servers bind one per
request; background work can bind its own::

    with bind_correlation_id() as correlation_id:
        logger.info("job started", extra={"job": name})

The record schema, an example line and the mapping from the Go ``zap_engine`` package are in
``docs/logging.md``.

.. versionadded:: 0.1.0
"""

from __future__ import annotations

from ._configure import configure as configure
from ._correlation import bind_correlation_id as bind_correlation_id
from ._correlation import get_correlation_id as get_correlation_id
from ._correlation import new_correlation_id as new_correlation_id

__all__ = (
    "bind_correlation_id",
    "configure",
    "get_correlation_id",
    "new_correlation_id",
)
