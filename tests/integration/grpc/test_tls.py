"""TLS from two PEM files really works (Go bug #19 was a TLS option with no effect)."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from grpclib.client import Channel

from service_pkg.exceptions import ConfigError
from service_pkg.grpc import GrpcServer
from service_pkg.grpc._testing import EchoRequest, EchoService, EchoStub
from tests.integration.certificates import make_certificate

from .conftest import loopback

pytestmark = pytest.mark.integration


@pytest.fixture(name="certificate")
def _certificate(tmp_path: Path) -> tuple[Path, Path]:
    return make_certificate(tmp_path)


async def test_a_tls_server_answers_a_client_that_trusts_its_certificate(
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    config = loopback(tls_cert_file=str(cert), tls_key_file=str(key))
    context = ssl.create_default_context(cafile=str(cert))
    context.set_alpn_protocols(["h2"])
    async with GrpcServer([EchoService()], config) as server:
        channel = Channel("127.0.0.1", server.port, ssl=context)
        reply = await EchoStub(channel).echo(EchoRequest(message="secure"))
        channel.close()
    assert reply.message == "secure"


async def test_unreadable_tls_files_are_a_config_error_at_start(tmp_path: Path) -> None:
    config = loopback(tls_cert_file=str(tmp_path / "no.pem"), tls_key_file=str(tmp_path / "k"))
    with pytest.raises(ConfigError, match="cannot load the certificate"):
        await GrpcServer([EchoService()], config).__aenter__()
