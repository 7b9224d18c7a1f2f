"""The official grpcio client, run as a child process by the gRPC tests.

grpcio's health and reflection modules register the same protobuf files as grpclib's, which
protobuf refuses in one process, so the independent client runs on its own:

    python grpcio_client.py PORT echo JSON_REQUEST [CORRELATION_ID]
    python grpcio_client.py PORT health SERVICE
    python grpcio_client.py PORT watch SERVICE COUNT
    python grpcio_client.py PORT reflect

Each prints one JSON object per answer on stdout.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import grpc


def _echo(channel: grpc.Channel, request: dict[str, Any], correlation_id: str | None) -> None:
    from service_pkg.grpc._testing import EchoReply, EchoRequest

    call = channel.unary_unary(
        "/servicepkg.testing.v1.Echo/Echo",
        request_serializer=bytes,
        response_deserializer=EchoReply.FromString,
    )
    metadata = [("x-correlation-id", correlation_id)] if correlation_id else None
    try:
        reply, state = call.with_call(EchoRequest(**request), metadata=metadata, timeout=10)
        out = {
            "code": "OK",
            "message": reply.message,
            "payload_size": len(reply.payload),
            "seen_correlation_id": reply.correlation_id,
            "initial": dict(state.initial_metadata()),
            "trailing": dict(state.trailing_metadata()),
        }
    except grpc.RpcError as exc:
        out = {
            "code": exc.code().name,
            "details": exc.details(),
            "initial": dict(exc.initial_metadata()),
            "trailing": dict(exc.trailing_metadata()),
        }
    print(json.dumps(out), flush=True)


def _health(channel: grpc.Channel, service: str) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    stub = health_pb2_grpc.HealthStub(channel)
    try:
        reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
        out = {"status": health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)}
    except grpc.RpcError as exc:
        out = {"code": exc.code().name, "details": exc.details()}
    print(json.dumps(out), flush=True)


def _watch(channel: grpc.Channel, service: str, count: int) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    stub = health_pb2_grpc.HealthStub(channel)
    stream = stub.Watch(health_pb2.HealthCheckRequest(service=service), timeout=30)
    seen = 0
    try:
        for reply in stream:
            name = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            print(json.dumps({"status": name}), flush=True)
            seen += 1
            if seen >= count:
                stream.cancel()
                break
    except grpc.RpcError as exc:
        print(json.dumps({"code": exc.code().name}), flush=True)


def _reflect(channel: grpc.Channel) -> None:
    from google.protobuf.descriptor_pool import DescriptorPool
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
        ProtoReflectionDescriptorDatabase,
    )

    database = ProtoReflectionDescriptorDatabase(channel)
    try:
        services = sorted(database.get_services())
    except grpc.RpcError as exc:
        print(json.dumps({"code": exc.code().name}), flush=True)
        return
    pool = DescriptorPool(database)
    described: dict[str, Any] = {}
    for name in services:
        try:
            service = pool.FindServiceByName(name)
        except KeyError as exc:
            described[name] = {"error": str(exc)}
            continue
        described[name] = {
            m.name: [m.input_type.full_name, m.output_type.full_name] for m in service.methods
        }
    print(json.dumps({"services": services, "described": described}), flush=True)


def main(argv: list[str]) -> int:
    port, command, *rest = argv
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        if command == "echo":
            _echo(channel, json.loads(rest[0]), rest[1] if len(rest) > 1 else None)
        elif command == "health":
            _health(channel, rest[0])
        elif command == "watch":
            _watch(channel, rest[0], int(rest[1]))
        elif command == "reflect":
            _reflect(channel)
        else:
            raise SystemExit(f"unknown command {command!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
