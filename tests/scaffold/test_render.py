"""Renaming: the package, the proto packages and the names, in paths and in texts."""

from __future__ import annotations

import tomllib
from pathlib import Path

from service_pkg._scaffold import Template, generate
from service_pkg._scaffold._sources import template_files

PROTO = b'syntax = "proto3";\npackage links.v1;\nservice Links { rpc Create (A) returns (B); }\n'
GENERATED = b"""from example_service.proto.links.v1 import Links
PATH = "/links.v1.Links/Create"
NAME = "example-service"
ENV = "EXAMPLE_SERVICE_URL"
UNRELATED = "mylinks.v10 and links.v1x stay"
"""
BINARY = bytes(range(256))


def fake_template(root: Path) -> Template:
    """A tiny checkout with the shapes the real example will have."""
    files = {
        "example_service/__init__.py": b'"""example_service."""\n',
        "example_service/proto/links/v1/__init__.py": GENERATED,
        "protos/links/v1/links.proto": PROTO,
        "tests/example_service/test_example_service.py": b"import example_service\n",
        "example_service/logo.bin": BINARY,
        "scripts/uv.sh": b"#!/usr/bin/env bash\n",
    }
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    (root / "scripts/uv.sh").chmod(0o755)
    kit = Path(__file__).resolve().parents[2] / "pyproject.toml"
    return Template(root, tuple(sorted(files)), kit)


def test_paths_take_the_new_package_and_proto_package(tmp_path: Path) -> None:
    """example_service/ → demo/, links/v1 → demo/v1, test_example_service.py → test_demo.py."""
    generate("demo", tmp_path / "out", template=fake_template(tmp_path / "src"))
    out = tmp_path / "out"
    assert (out / "demo/proto/demo/v1/__init__.py").is_file()
    assert (out / "protos/demo/v1/links.proto").is_file()
    assert (out / "tests/demo/test_demo.py").is_file()
    assert not list(out.rglob("*example*"))


def test_texts_take_the_new_names(tmp_path: Path) -> None:
    """Imports, gRPC paths, distribution and upper-case names follow; look-alikes do not."""
    generate("demo", tmp_path / "out", template=fake_template(tmp_path / "src"))
    code = (tmp_path / "out/demo/proto/demo/v1/__init__.py").read_text()
    assert code == (
        "from demo.proto.demo.v1 import Links\n"
        'PATH = "/demo.v1.Links/Create"\n'
        'NAME = "demo"\n'
        'ENV = "DEMO_URL"\n'
        'UNRELATED = "mylinks.v10 and links.v1x stay"\n'
    )
    assert b"package demo.v1;" in (tmp_path / "out/protos/demo/v1/links.proto").read_bytes()


def test_a_two_word_name_gets_a_dashed_distribution_name(tmp_path: Path) -> None:
    """my_shop: package my_shop, distribution (and log service name) my-shop."""
    generate("my_shop", tmp_path / "out", template=fake_template(tmp_path / "src"))
    code = (tmp_path / "out/my_shop/proto/my_shop/v1/__init__.py").read_text()
    assert 'NAME = "my-shop"' in code
    pyproject = tomllib.loads((tmp_path / "out/pyproject.toml").read_text())
    assert pyproject["project"]["name"] == "my-shop"


def test_binary_files_and_executable_bits_are_kept(tmp_path: Path) -> None:
    """A file that is not UTF-8 is copied byte for byte; scripts stay executable."""
    generate("demo", tmp_path / "out", template=fake_template(tmp_path / "src"))
    assert (tmp_path / "out/demo/logo.bin").read_bytes() == BINARY
    assert (tmp_path / "out/scripts/uv.sh").stat().st_mode & 0o111


def test_the_kits_own_test_protos_are_not_part_of_the_template(tmp_path: Path) -> None:
    """protos/servicepkg/ (the kit's test services) stays out; the example's protos go in."""
    for rel in ("protos/servicepkg/testing/v1/echo.proto", "protos/links/v1/links.proto"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(PROTO)
    assert template_files(tmp_path) == ["protos/links/v1/links.proto"]
