"""Server reflection for betterproto services: a descriptor pool from descriptor sets.

betterproto registers no protobuf descriptors, so grpclib's reflection could list such a
service but not describe it (betterproto #5, #443). ``scripts/protos.sh`` writes a
``FileDescriptorSet`` (``descriptors.binpb``) next to the generated code; the pool built here
from those sets is what :class:`grpclib.reflection.service.ServerReflection` reads.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterable
from pathlib import Path
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import FileDescriptor
from grpclib.health.v1 import health_pb2
from grpclib.reflection.service import ServerReflection
from grpclib.reflection.v1 import reflection_pb2

from service_pkg.exceptions import ConfigError

__all__ = ("Descriptors", "load_descriptor_pool", "with_reflection")

Descriptors = str | os.PathLike[str] | bytes
"""A ``FileDescriptorSet``: the path of a serialized one, or its bytes."""


def _read(source: Descriptors) -> descriptor_pb2.FileDescriptorSet:
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    parsed = descriptor_pb2.FileDescriptorSet()
    parsed.ParseFromString(data)
    return parsed


def _proto_of(file: FileDescriptor) -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    return proto


def load_descriptor_pool(*sources: Descriptors) -> descriptor_pool.DescriptorPool:
    """A new pool holding every file of the given descriptor sets.

    It also holds ``grpc.health.v1`` and ``grpc.reflection.v1``, so reflection describes the
    kit's own services as well. Files already added (a dependency shared by two sets) are
    skipped.

    Raises:
        ConfigError: a set cannot be read or parsed, or its files conflict (``field`` is
            ``descriptors``).

    .. versionadded:: 0.3.0
    """
    pool = descriptor_pool.DescriptorPool()
    seen: set[str] = set()
    files: list[descriptor_pb2.FileDescriptorProto] = []
    for source in sources:
        try:
            files.extend(_read(source).file)
        except (OSError, ValueError, TypeError) as exc:
            shown = "<bytes>" if isinstance(source, bytes) else str(source)
            raise ConfigError(
                "descriptors", shown, f"cannot read a FileDescriptorSet: {exc}"
            ) from exc
    for module in (health_pb2, reflection_pb2):
        files.extend(_proto_of(dependency) for dependency in module.DESCRIPTOR.dependencies)
        files.append(_proto_of(module.DESCRIPTOR))
    for file in files:
        if file.name in seen:
            continue
        seen.add(file.name)
        try:
            pool.Add(file)
        except (TypeError, ValueError) as exc:
            raise ConfigError("descriptors", file.name, f"conflicting descriptor: {exc}") from exc
    return pool


def with_reflection(
    services: Iterable[Any],
    names: Collection[str],
    pool: descriptor_pool.DescriptorPool,
) -> list[Any]:
    """``services`` plus reflection v1 and v1alpha answering from ``pool``.

    Raises:
        ConfigError: a service in ``names`` has no descriptor in ``pool``: reflection could
            list it but not describe it.
    """
    missing = []
    for name in names:
        try:
            pool.FindServiceByName(name)
        except KeyError:
            missing.append(name)
    if missing:
        raise ConfigError(
            "descriptors",
            ", ".join(missing),
            "reflection needs the descriptor set of every service: generate it with "
            "scripts/protos.sh (descriptors.binpb) and pass descriptors=[path]",
        )
    return ServerReflection.extend(list(services), pool=pool)
