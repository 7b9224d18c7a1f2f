"""Trace and span ids in the kit's log records, while a span records."""

from __future__ import annotations

from collections.abc import Callable

from opentelemetry import trace

from service_pkg.logs import _formatters

__all__ = ("current_trace_ids", "install_log_correlation")


def current_trace_ids() -> tuple[str, str] | None:
    """``(trace_id, span_id)`` of the current span as 32 and 16 lower-hex digits, if it records.

    ``None`` outside a span, or in one that is not recording (sampled out).
    """
    span = trace.get_current_span()
    if not span.is_recording():
        return None
    context = span.get_span_context()
    return format(context.trace_id, "032x"), format(context.span_id, "016x")


def install_log_correlation() -> Callable[[], None]:
    """Make the JSON and text formatters of :mod:`service_pkg.logs` add the ids.

    Returns the undo, which removes the hook only if it is still this one. With no hook
    installed (tracing not used, or the extra absent) the formatters pay one ``is None``.
    """
    _formatters.set_trace_ids_hook(current_trace_ids)

    def uninstall() -> None:
        if _formatters.trace_ids_hook() is current_trace_ids:
            _formatters.set_trace_ids_hook(None)

    return uninstall
