"""The ``service-pkg`` command: ``service-pkg new NAME [--path DIR]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from service_pkg.exceptions import ConfigError

__all__ = ("main",)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="service-pkg", description="Tools of the service-pkg runtime kit."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    new = commands.add_parser(
        "new",
        help="create a new service from the kit's example service",
        description="Create a new service from the kit's example service: the package, its "
        "tests, migrations and .proto files renamed to NAME, with a pyproject.toml that "
        "depends on this service-pkg version, a Makefile (run, test), a Dockerfile and a "
        "docker-compose.yml for Redis, PostgreSQL and ClickHouse.",
    )
    new.add_argument("name", metavar="NAME", help="Python package name of the new service")
    new.add_argument(
        "--path",
        metavar="DIR",
        type=Path,
        help="folder to create the project in; must be missing or empty (default: ./NAME)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (2 for a refused name or folder)."""
    args = _parser().parse_args(argv)
    # Imported here: `service-pkg --help` should not pay for the template machinery.
    from service_pkg._scaffold import generate  # noqa: PLC0415

    target: Path = args.path if args.path is not None else Path(args.name)
    try:
        files = generate(args.name, target)
    except ConfigError as error:
        sys.stderr.write(f"service-pkg new: {error}\n")
        return 2
    sys.stdout.write(f"created {args.name} in {target} ({len(files)} files). Next:\n")
    sys.stdout.write(f"  cd {target} && make test\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
