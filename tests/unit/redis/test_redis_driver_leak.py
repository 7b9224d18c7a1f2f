"""A driver error whose text holds a password never reaches the kit's error (redis-py 6/7).

redis-py's ``MasterNotFoundError`` quotes the sentinel client's repr, which shows the password
on 6.x; the start ``PING`` must not pass that text (or the error itself, as
``__cause__``) on. The fake client raises such an error without any network.
"""

from __future__ import annotations

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from service_pkg.exceptions import BrokenResourceError
from service_pkg.redis._client import _ping
from tests.unit.redis.secrets import assert_no_part_of, chain_texts

PASSWORD = "Kx7qZ@Wv3zR"  # noqa: S105 - fragments the shared helper looks for


class LeakingRedis(Redis):
    """A client whose PING fails with its login in the message, as redis-py 6.x's does.

    (redis-py 8 writes ``password=<REDACTED>`` in reprs, so the text is built here.)
    """

    async def ping(self, **_: object) -> bool:
        password = self.connection_pool.connection_kwargs["password"]
        raise RedisConnectionError(
            f"No master found for 'm' : <Redis(<ConnectionPool(<Connection(db=0,"
            f"password={password},host=127.0.0.1,port=1)>)>)> - ConnectionError('refused')"
        )


class PlainRedis(Redis):
    async def ping(self, **_: object) -> bool:
        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:1. Connection refused.")


async def test_a_password_in_the_driver_error_is_masked_and_the_error_dropped() -> None:
    client = LeakingRedis(host="127.0.0.1", port=1, password=PASSWORD)
    try:
        with pytest.raises(BrokenResourceError) as caught:
            await _ping(client, "redis://:***@127.0.0.1:1/0", 1.0)
    finally:
        await client.aclose()
    assert "No master found for 'm'" in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__context__ is None
    assert_no_part_of(PASSWORD, chain_texts(caught.value))


async def test_a_driver_error_without_a_password_stays_the_cause() -> None:
    client = PlainRedis(host="127.0.0.1", port=1, password=PASSWORD)
    try:
        with pytest.raises(BrokenResourceError) as caught:
            await _ping(client, "redis://:***@127.0.0.1:1/0", 1.0)
    finally:
        await client.aclose()
    assert isinstance(caught.value.__cause__, RedisConnectionError)
