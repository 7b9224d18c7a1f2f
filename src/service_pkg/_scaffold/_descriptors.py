"""Renaming proto packages inside a ``FileDescriptorSet`` (``descriptors.binpb``).

The template's generated code is renamed as text; its descriptor set (what gRPC reflection
answers from) is binary, so it is rewritten here field by field. Pure standard library: the
``service-pkg`` command runs where protobuf may not be installed. Only the fields that hold
file names, package names and type references are touched; every other byte is copied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

__all__ = ("rename_descriptor_set",)

Rename = Callable[[str], str]

# message → {field number: ("path" | "package" | "type" | child message)}
_SCHEMA: dict[str, dict[int, str]] = {
    "FileDescriptorSet": {1: "FileDescriptorProto"},
    "FileDescriptorProto": {
        1: "path",
        2: "package",
        3: "path",
        4: "DescriptorProto",
        6: "ServiceDescriptorProto",
        7: "FieldDescriptorProto",
    },
    "DescriptorProto": {2: "FieldDescriptorProto", 3: "DescriptorProto", 6: "FieldDescriptorProto"},
    "FieldDescriptorProto": {2: "type", 6: "type"},
    "ServiceDescriptorProto": {2: "MethodDescriptorProto"},
    "MethodDescriptorProto": {2: "type", 3: "type"},
}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, pos
        shift += 7


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _fields(data: bytes) -> Iterator[tuple[int, int, bytes, bytes]]:
    """(field number, wire type, payload of a length-delimited field, raw bytes)."""
    pos = 0
    sizes = {1: 8, 5: 4}
    while pos < len(data):
        start = pos
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        payload = b""
        if wire == 0:
            _, pos = _varint(data, pos)
        elif wire == 2:  # noqa: PLR2004 - protobuf wire type LEN
            length, pos = _varint(data, pos)
            payload = data[pos : pos + length]
            pos += length
        elif wire in sizes:
            pos += sizes[wire]
        else:
            raise ValueError(f"descriptor set: unsupported wire type {wire}")
        yield number, wire, payload, data[start:pos]


def _rewrite(message: str, data: bytes, renames: dict[str, Rename]) -> bytes:
    out = bytearray()
    schema = _SCHEMA[message]
    for number, wire, payload, raw in _fields(data):
        kind = schema.get(number)
        if wire != 2 or kind is None:  # noqa: PLR2004 - protobuf wire type LEN
            out += raw
            continue
        if kind in renames:
            new = renames[kind](payload.decode("utf-8")).encode("utf-8")
        else:
            new = _rewrite(kind, payload, renames)
        out += _encode_varint(number << 3 | 2) + _encode_varint(len(new)) + new
    return bytes(out)


def rename_descriptor_set(
    data: bytes, packages: dict[str, str], path: Callable[[str], str]
) -> bytes:
    """``data`` with each proto package ``old`` → ``new`` and file paths mapped by ``path``."""

    def package(name: str) -> str:
        return packages.get(name, name)

    def type_ref(name: str) -> str:  # ".links.v1.Link" → ".demo.v1.Link"
        for old, new in packages.items():
            if name.startswith(f".{old}."):
                return f".{new}.{name[len(old) + 2 :]}"
        return name

    return _rewrite("FileDescriptorSet", data, {"path": path, "package": package, "type": type_ref})
