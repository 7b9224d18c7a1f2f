"""The generated project's descriptors.binpb describes its renamed proto package."""

from __future__ import annotations

from pathlib import Path

from google.protobuf import descriptor_pb2

from service_pkg._scaffold._descriptors import rename_descriptor_set

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_SET = ROOT / "example_service" / "proto" / "descriptors.binpb"


def parse(data: bytes) -> descriptor_pb2.FileDescriptorSet:
    return descriptor_pb2.FileDescriptorSet.FromString(data)


def test_package_paths_and_type_references_are_renamed(demo: Path) -> None:
    generated = parse((demo / "demo" / "proto" / "descriptors.binpb").read_bytes())
    (file,) = generated.file
    assert (file.name, file.package) == ("demo/v1/links.proto", "demo.v1")
    methods = {m.name: (m.input_type, m.output_type) for m in file.service[0].method}
    assert methods["Create"] == (".demo.v1.CreateRequest", ".demo.v1.Link")
    assert methods["Stats"] == (".demo.v1.StatsRequest", ".demo.v1.Stats")


def test_everything_else_is_kept_byte_for_byte() -> None:
    """With no rename the set comes back identical; with one, only the names differ."""
    original = TEMPLATE_SET.read_bytes()
    assert rename_descriptor_set(original, {}, lambda p: p) == original
    renamed = parse(rename_descriptor_set(original, {"links.v1": "x.v1"}, lambda p: p))
    expected = parse(original)
    expected.file[0].package = "x.v1"
    for method in expected.file[0].service[0].method:
        method.input_type = method.input_type.replace(".links.v1.", ".x.v1.")
        method.output_type = method.output_type.replace(".links.v1.", ".x.v1.")
    assert renamed == expected
