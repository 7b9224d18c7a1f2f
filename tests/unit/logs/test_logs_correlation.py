"""Correlation ids: the context variable, binding, and the xid format."""

from __future__ import annotations

import asyncio
import base64
import re
import time

import pytest

from service_pkg.exceptions import ConfigError
from service_pkg.logs import bind_correlation_id, get_correlation_id, new_correlation_id
from service_pkg.logs._xid import XidGenerator, encode_xid

XID = re.compile(r"[0-9a-v]{20}")


def decode(xid: str) -> bytes:
    return base64.b32hexdecode(xid.upper() + "====")


class TestBind:
    def test_unbound_context_has_no_correlation_id(self) -> None:
        """Outside any bind the id is ``None``."""
        assert get_correlation_id() is None

    def test_bind_sets_the_given_id_and_yields_it(self) -> None:
        """Binding a value makes it the current id and yields it."""
        with bind_correlation_id("req-1") as bound:
            assert (bound, get_correlation_id()) == ("req-1", "req-1")

    def test_bind_without_a_value_generates_a_new_id(self) -> None:
        """Binding ``None`` generates an xid-format id and makes it current."""
        with bind_correlation_id() as bound:
            assert XID.fullmatch(bound)
            assert get_correlation_id() == bound

    def test_bind_restores_the_previous_id_on_exit(self) -> None:
        """Leaving a nested bind restores the outer id; leaving the outer restores ``None``."""
        with bind_correlation_id("outer"):
            with bind_correlation_id("inner"):
                pass
            assert get_correlation_id() == "outer"
        assert get_correlation_id() is None

    def test_bind_restores_the_previous_id_when_the_block_raises(self) -> None:
        """An exception leaving the block still resets the id."""
        with pytest.raises(KeyError), bind_correlation_id("req-1"):
            raise KeyError
        assert get_correlation_id() is None

    def test_bind_rejects_an_empty_id(self) -> None:
        """An empty string is a ConfigError naming ``correlation_id``, not a silent blank id."""
        with pytest.raises(ConfigError) as caught, bind_correlation_id(""):
            pass
        assert caught.value.field == "correlation_id"

    async def test_tasks_created_inside_a_bind_inherit_the_id(self) -> None:
        """An asyncio task started inside a bind sees the bound id."""
        with bind_correlation_id("req-1"):
            task = asyncio.create_task(_current())
        assert await task == "req-1"

    async def test_concurrent_tasks_keep_their_own_ids(self) -> None:
        """Two tasks binding different ids at the same time do not see each other's."""
        both_bound = asyncio.Barrier(2)

        async def handle(value: str) -> str | None:
            with bind_correlation_id(value):
                await both_bound.wait()
                return get_correlation_id()

        async with asyncio.TaskGroup() as group:
            first = group.create_task(handle("a"))
            second = group.create_task(handle("b"))
        assert (first.result(), second.result()) == ("a", "b")


async def _current() -> str | None:
    return get_correlation_id()


class TestNewCorrelationId:
    def test_id_is_20_lower_case_base32hex_characters(self) -> None:
        """A new id matches the Go xid format: 20 characters of ``0-9a-v``."""
        assert XID.fullmatch(new_correlation_id())

    def test_ids_are_unique(self) -> None:
        """Ten thousand ids in a row are all different."""
        ids = {new_correlation_id() for _ in range(10_000)}
        assert len(ids) == 10_000

    def test_id_embeds_the_current_unix_second(self) -> None:
        """The first 4 bytes are the big-endian Unix time in seconds."""
        before = int(time.time())
        raw = decode(new_correlation_id())
        after = int(time.time())
        assert before <= int.from_bytes(raw[:4], "big") <= after

    def test_consecutive_ids_share_process_bytes_and_count_up(self) -> None:
        """Two ids from one process have the same bytes 4-8 and consecutive counters."""
        generator = XidGenerator()
        first, second = decode(generator.new(now=0)), decode(generator.new(now=0))
        assert first[4:9] == second[4:9]
        assert int.from_bytes(second[9:], "big") == (int.from_bytes(first[9:], "big") + 1) % 2**24

    def test_ids_of_one_second_sort_in_creation_order(self) -> None:
        """Ids made in the same second sort as strings in the order they were made."""
        generator = XidGenerator()
        generator._counter = 0
        ids = [generator.new(now=1_700_000_000) for _ in range(100)]
        assert ids == sorted(ids)

    def test_counter_wraps_after_24_bits(self) -> None:
        """The counter after 2**24 - 1 is 0, as in rs/xid."""
        generator = XidGenerator()
        generator._counter = 2**24 - 2
        assert decode(generator.new(now=0))[9:] == b"\xff\xff\xff"
        assert decode(generator.new(now=0))[9:] == b"\x00\x00\x00"

    def test_reseed_draws_new_process_bytes(self) -> None:
        """After ``reseed`` (run in a forked child) the process bytes change."""
        generator = XidGenerator()
        before = decode(generator.new(now=0))[4:9]
        generator.reseed()
        assert decode(generator.new(now=0))[4:9] != before

    def test_encoding_matches_the_rs_xid_reference_vector(self) -> None:
        """The bytes of rs/xid's own test vector encode to its expected string."""
        raw = bytes.fromhex("4d88e15b60f486e428412dc9")
        assert encode_xid(raw) == "9m4e2mr0ui3e8a215n4g"

    def test_encoding_rejects_a_wrong_length(self) -> None:
        """Only 12 raw bytes make an xid."""
        with pytest.raises(ValueError, match="12 bytes"):
            encode_xid(b"\x00" * 11)
