"""Smoke tests: each server the integration tests need answers its own protocol.

Only the standard library is used, so these run before any database driver is installed.
"""

import http.client
import socket
import struct

import pytest

pytestmark = pytest.mark.integration

TIMEOUT = 5.0

# PostgreSQL SSLRequest: length 8, then the code 80877103 (1234 << 16 | 5679).
SSL_REQUEST = struct.pack("!ii", 8, 80877103)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _string(text: str) -> bytes:
    data = text.encode()
    return _varint(len(data)) + data


def _clickhouse_client_hello() -> bytes:
    """Build a ClickHouse native-protocol Hello packet for user `default` with no password."""
    return b"".join(
        (
            _varint(0),  # packet type: Hello
            _string("service-pkg-tests"),
            _varint(1),  # client version major
            _varint(0),  # client version minor
            _varint(54213),  # client protocol revision
            _string("default"),  # database
            _string("default"),  # user
            _string(""),  # password
        )
    )


def test_redis_answers_ping_with_pong(redis_address: tuple[str, int]) -> None:
    """Redis answers an inline PING with +PONG."""
    with socket.create_connection(redis_address, timeout=TIMEOUT) as sock:
        sock.sendall(b"PING\r\n")
        reply = sock.makefile("rb").readline()

    assert reply == b"+PONG\r\n"


def test_postgres_answers_ssl_request_with_one_byte(postgres_address: tuple[str, int]) -> None:
    """PostgreSQL answers an SSLRequest with the single byte N or S."""
    with socket.create_connection(postgres_address, timeout=TIMEOUT) as sock:
        sock.sendall(SSL_REQUEST)
        reply = sock.recv(1)

    assert reply in {b"N", b"S"}


def test_clickhouse_http_ping_answers_ok(clickhouse_http_address: tuple[str, int]) -> None:
    """ClickHouse answers GET /ping on its HTTP port with 200 and the body Ok."""
    host, port = clickhouse_http_address
    conn = http.client.HTTPConnection(host, port, timeout=TIMEOUT)
    try:
        conn.request("GET", "/ping")
        response = conn.getresponse()
        status, body = response.status, response.read()
    finally:
        conn.close()

    assert (status, body.strip()) == (200, b"Ok.")


def test_clickhouse_native_port_answers_hello(clickhouse_native_address: tuple[str, int]) -> None:
    """ClickHouse answers a native-protocol Hello with its own Hello naming ClickHouse."""
    with socket.create_connection(clickhouse_native_address, timeout=TIMEOUT) as sock:
        sock.sendall(_clickhouse_client_hello())
        reply = sock.recv(64)

    assert reply.startswith(b"\x00\x0aClickHouse")
