"""``python -m example_service``: configure logging, print the plan, run until a signal."""

from __future__ import annotations

import sys

from service_pkg import Application
from service_pkg.logs import configure

from example_service.containers import Container
from example_service.settings import Settings


def main() -> int:
    """Run the service; return the process exit code."""
    settings = Settings.from_env()
    configure(level=settings.log_level, json=settings.log_json, service=settings.service_name)
    container = Container()
    container.settings.override(settings)
    app = Application(container)
    print(app.plan, file=sys.stderr)
    return app.run()


if __name__ == "__main__":
    raise SystemExit(main())
