"""The pure parts of the guards: correlation id rule and the size-limited codec."""

from __future__ import annotations

import pytest
from grpclib.const import Status
from grpclib.exceptions import GRPCError

from service_pkg.grpc._guards import LimitedCodec, valid_correlation_id
from service_pkg.grpc._testing import EchoReply, EchoRequest


@pytest.mark.parametrize("value", ["a", "A-b_c.d:e", "9m4e2mr0ui3e8a215n4g", "x" * 64])
def test_an_id_of_1_to_64_allowed_characters_is_accepted(value: str) -> None:
    assert valid_correlation_id(value) == value


@pytest.mark.parametrize("value", [None, "", "x" * 65, "has space", "semi;colon", "é", b"raw"])
def test_anything_else_is_refused(value: object) -> None:
    assert valid_correlation_id(value) is None


def test_the_codec_round_trips_a_betterproto_message() -> None:
    codec = LimitedCodec(None, None)
    data = codec.encode(EchoRequest(message="hi"), EchoRequest)
    assert codec.decode(data, EchoRequest) == EchoRequest(message="hi")


def test_encoding_over_the_send_limit_is_resource_exhausted_with_the_go_message() -> None:
    codec = LimitedCodec(10, None)
    with pytest.raises(GRPCError) as caught:
        codec.encode(EchoReply(payload=b"x" * 20), EchoReply)
    assert caught.value.status is Status.RESOURCE_EXHAUSTED
    assert caught.value.message == "response too large: 22 > 10; use paging/streaming"


def test_decoding_over_the_receive_limit_is_resource_exhausted() -> None:
    codec = LimitedCodec(None, 10)
    with pytest.raises(GRPCError) as caught:
        codec.decode(bytes(EchoRequest(message="m" * 20)), EchoRequest)
    assert caught.value.status is Status.RESOURCE_EXHAUSTED
    assert caught.value.message == "received message larger than max (22 vs. 10)"


def test_a_message_at_the_limit_passes() -> None:
    codec = LimitedCodec(22, 22)
    data = codec.encode(EchoReply(payload=b"x" * 20), EchoReply)
    assert len(data) == 22
    assert codec.decode(data, EchoReply).payload == b"x" * 20
