"""A URL shortener built on service-pkg; also the template ``service-pkg new`` starts from.

HTTP (Litestar) and gRPC (grpclib) over links in SQL, a leader-gated rollup of click events
into counters fenced by the election epoch, and optional ClickHouse analytics. Run it with
``make run`` (or ``python -m example_service``); ``docs/example.md`` has the settings.
"""
