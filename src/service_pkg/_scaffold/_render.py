"""Renaming the template: the example's package, its proto packages, its names."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

__all__ = ("Renamer",)

TEMPLATE_PACKAGE = "example_service"
_PROTO_PACKAGE = re.compile(rb"^\s*package\s+([A-Za-z_][\w.]*)\s*;", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Renamer:
    """Rewrites template paths and texts for the new service ``name``.

    * ``example_service`` → ``name``, ``example-service`` → the distribution name,
      ``EXAMPLE_SERVICE`` → ``NAME``;
    * every proto package of the template (``package links.v1;``) gets ``name`` as its first
      part (``demo.v1``), in the texts (``/links.v1.Links/Create``, imports of the generated
      code) and in the paths (``protos/links/v1/`` → ``protos/demo/v1/``).
    """

    name: str
    proto_packages: Mapping[str, str]

    @classmethod
    def for_template(cls, name: str, protos: list[bytes]) -> Renamer:
        """A renamer for ``name`` that knows the proto packages declared in ``protos``."""
        renames: dict[str, str] = {}
        for text in protos:
            for match in _PROTO_PACKAGE.finditer(text):
                package = match.group(1).decode()
                first, _, rest = package.partition(".")
                if first != name:
                    renames[package] = ".".join(p for p in (name, rest) if p)
        return cls(name, renames)

    @property
    def dist(self) -> str:
        """The distribution (and log service) name: ``my_service`` → ``my-service``."""
        return self.name.replace("_", "-")

    def path(self, rel: str) -> PurePosixPath:
        """Where the template file ``rel`` goes in the new project."""
        parts = list(PurePosixPath(rel).parts)
        for old, new in self.proto_packages.items():
            parts = _replace_run(parts, old.split("."), new.split("."))
        return PurePosixPath(*(self._words(part) for part in parts))

    def text(self, data: bytes) -> bytes:
        """The template file's content for the new project (binary files stay as they are)."""
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return data
        for old, new in self.proto_packages.items():
            text = re.sub(rf"(?<![\w]){re.escape(old)}(?![\w])", new, text)
        return self._words(text).encode("utf-8")

    def _words(self, text: str) -> str:
        text = text.replace(TEMPLATE_PACKAGE, self.name)
        text = text.replace(TEMPLATE_PACKAGE.replace("_", "-"), self.dist)
        return text.replace(TEMPLATE_PACKAGE.upper(), self.name.upper())


def _replace_run(parts: list[str], old: list[str], new: list[str]) -> list[str]:
    out: list[str] = []
    i = 0
    while i < len(parts):
        if parts[i : i + len(old)] == old:
            out += new
            i += len(old)
        else:
            out.append(parts[i])
            i += 1
    return out
