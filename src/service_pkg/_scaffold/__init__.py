"""``service-pkg new``: a new service made from the kit's own example.

Where the template comes from (:func:`find_template`):

* an installed wheel carries it in ``service_pkg/_scaffold/template/`` (packed at build time by
  ``scripts/hatch_build.py`` from the paths in :mod:`._sources`);
* an editable install (the kit's checkout) reads the same paths from the checkout.

Either way it is ``example_service/``, its tests, ``alembic/`` and ``protos/`` as they are in
the repository, plus the project files in ``files/`` (pyproject, Makefile, Docker files), whose
tool settings and dependency pins are taken from the kit's pyproject.toml.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from service_pkg._scaffold._descriptors import rename_descriptor_set
from service_pkg._scaffold._names import check_name, check_target
from service_pkg._scaffold._project import KitSettings, project_files
from service_pkg._scaffold._render import Renamer
from service_pkg._scaffold._sources import KIT_PYPROJECT, PACKAGED, template_files

__all__ = ("Template", "check_name", "find_template", "generate")

_HERE = Path(__file__).resolve().parent


@dataclass(frozen=True, slots=True)
class Template:
    """The template's files (relative POSIX paths under ``root``) and the kit's pyproject."""

    root: Path
    files: tuple[str, ...]
    kit_pyproject: Path

    @classmethod
    def packaged(cls, folder: Path) -> Template:
        """The template an installed wheel carries in ``folder``."""
        files = sorted(
            p.relative_to(folder).as_posix()
            for p in folder.rglob("*")
            if p.is_file() and p.name != KIT_PYPROJECT
        )
        return cls(folder, tuple(files), folder / KIT_PYPROJECT)

    @classmethod
    def checkout(cls, root: Path) -> Template:
        """The template read from a checkout of the kit at ``root``."""
        return cls(root, tuple(template_files(root)), root / "pyproject.toml")


def find_template() -> Template:
    """The packaged template if this is a wheel install, else the checkout's."""
    packaged = _HERE / PACKAGED
    if (packaged / KIT_PYPROJECT).is_file():
        return Template.packaged(packaged)
    checkout = _HERE.parents[2]
    if (checkout / "example_service").is_dir() and (checkout / "pyproject.toml").is_file():
        return Template.checkout(checkout)
    raise RuntimeError(
        "service-pkg new: this installation has no template (neither a wheel with "
        f"{packaged} nor a checkout with example_service/); reinstall service-pkg from its wheel"
    )


def generate(name: str, target: Path, *, template: Template | None = None) -> list[Path]:
    """Write a new service ``name`` into ``target`` (missing or empty); return its files.

    Raises :class:`~service_pkg.exceptions.ConfigError` for a name that is not a valid package
    name or a target that is not empty, before writing anything. The project is assembled in
    a temporary folder next to ``target`` and moved into place, so a failure leaves nothing
    half-written.
    """
    check_name(name)
    check_target(target)
    template = template or find_template()
    contents = _render(name, template)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=f".{name}-") as staging:
        stage = Path(staging) / "project"
        for rel, data in contents.items():
            path = stage / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
            source = template.root / rel
            if source.is_file() and source.stat().st_mode & 0o111:
                path.chmod(0o755)
        if target.exists():
            target.rmdir()  # checked empty above
        shutil.move(stage, target)
    return [target / rel for rel in contents]


def _render(name: str, template: Template) -> dict[PurePosixPath, bytes]:
    sources = {rel: (template.root / rel).read_bytes() for rel in template.files}
    protos = [data for rel, data in sources.items() if rel.endswith(".proto")]
    renamer = Renamer.for_template(name, protos)
    contents = {
        renamer.path(rel): (
            rename_descriptor_set(
                data, dict(renamer.proto_packages), lambda p: str(renamer.path(p))
            )
            if rel.endswith(".binpb")
            else renamer.text(data)
        )
        for rel, data in sources.items()
    }
    kit = KitSettings.read(template.kit_pyproject)
    for rel, data in project_files(kit, name, renamer.dist).items():
        contents[PurePosixPath(rel)] = data
    return contents
