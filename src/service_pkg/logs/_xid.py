"""Globally unique, time-ordered 20-character ids in the format of Go's ``rs/xid``.

The Go library's HTTP middleware stamped every request with ``xid.New().String()``. An xid is
12 bytes, encoded as lower-case base32hex without padding (20 characters):

.. code-block:: text

    0      4                 9       12
    ┌──────┬─────────────────┬────────┐
    │ time │ process (random)│ counter│
    └──────┴─────────────────┴────────┘
    4 bytes big-endian Unix seconds, 5 bytes fixed per process, 3 bytes big-endian counter

``rs/xid`` fills the middle 5 bytes with a 3-byte machine id and a 2-byte pid; random bytes
drawn once per process serve the same purpose (tell processes apart) without reading host ids.
The counter starts at a random value and wraps at 2**24, as in ``rs/xid``.

Making one is on the hot path of every request (the correlation id), so :meth:`XidGenerator.new`
encodes only what changes: the first 14 characters (70 bits: the time and all but the last two
process bits) are cached per second, and the last 6 (2 process bits, the 24-bit counter and 4
bits of padding) come from three lookups in a table of 1,024 two-character strings.
"""

from __future__ import annotations

import base64
import os
import secrets
import threading
import time

_COUNTER_MASK = 0xFFFFFF
_TIME_MASK = 0xFFFFFFFF
_PROCESS_BYTES = 5
_RAW_LENGTH = 12
_ALPHABET = "0123456789abcdefghijklmnopqrstuv"
# Every 10-bit value as its two base32hex characters.
_PAIRS = tuple(a + b for a in _ALPHABET for b in _ALPHABET)
_PREFIX_CHARS = 14


def encode_xid(raw: bytes) -> str:
    """Encode 12 raw bytes as an xid string: base32hex, lower-case, no padding.

    Args:
        raw: Exactly 12 bytes.

    Returns:
        The 20-character id.

    Raises:
        ValueError: ``raw`` is not 12 bytes long.
    """
    if len(raw) != _RAW_LENGTH:
        msg = f"an xid is {_RAW_LENGTH} bytes, got {len(raw)}"
        raise ValueError(msg)
    return base64.b32hexencode(raw).decode("ascii").rstrip("=").lower()


class XidGenerator:
    """Make xids: thread-safe, and re-seeded in a child process after ``fork``."""

    def __init__(self) -> None:
        """Draw the per-process bytes and the counter's random start."""
        self._lock = threading.Lock()
        self._process = b""
        self._counter = 0
        self._second = -1
        self._prefix = ""
        self._low_bits = 0
        self.reseed()

    def reseed(self) -> None:
        """Draw new per-process bytes and a new counter start (called after ``fork``)."""
        with self._lock:
            self._process = secrets.token_bytes(_PROCESS_BYTES)
            self._counter = secrets.randbelow(_COUNTER_MASK + 1)
            # The process bits that share the 15th character with the counter.
            self._low_bits = (self._process[-1] & 0b11) << 24
            self._second = -1

    def new(self, now: float | None = None) -> str:
        """Return a new id.

        Args:
            now: Unix time in seconds to embed; the current time when ``None``.

        Returns:
            The 20-character id.
        """
        seconds = int(time.time() if now is None else now) & _TIME_MASK
        with self._lock:
            self._counter = counter = (self._counter + 1) & _COUNTER_MASK
            if seconds != self._second:
                raw = seconds.to_bytes(4, "big") + self._process + b"\0\0\0"
                self._prefix = encode_xid(raw)[:_PREFIX_CHARS]
                self._second = seconds
            prefix = self._prefix
            tail = (self._low_bits | counter) << 4  # 30 bits: the last six characters
        pairs = _PAIRS
        return prefix + pairs[tail >> 20] + pairs[(tail >> 10) & 0x3FF] + pairs[tail & 0x3FF]


GENERATOR = XidGenerator()
"""The process-wide generator behind :func:`service_pkg.logs.new_correlation_id`."""

# A forked child would otherwise repeat the parent's process bytes and counter.
os.register_at_fork(after_in_child=GENERATOR.reseed)
