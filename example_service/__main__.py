"""``python -m example_service``: read the settings, configure logging, print the plan, run."""

from __future__ import annotations

import sys

from service_pkg.logs import configure

from example_service.containers import create_app
from example_service.settings import load_settings


def main() -> int:
    """Run the service until SIGTERM/SIGINT; return the process exit code."""
    settings = load_settings()
    configure(level=settings.log_level, json=settings.log_json, service=settings.service_name)
    app, _ = create_app(settings)
    print(app.plan, file=sys.stderr)
    return app.run()


if __name__ == "__main__":
    raise SystemExit(main())
