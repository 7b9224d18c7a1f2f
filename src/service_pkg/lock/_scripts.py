"""The three Lua scripts of ``RedisLock`` and their wire encoding.

Each lock operation is one ``EVALSHA`` (one round trip). The commands are packed once per lock,
since key, token and TTL never change for a lock object; only a ``NOSCRIPT`` reply (a restarted
or ``SCRIPT FLUSH``-ed server) costs a ``SCRIPT LOAD`` and a second ``EVALSHA``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

RENEWED, HELD, GRACE = 1, 2, 3
"""Status codes of the acquire script's array reply; a plain integer reply means acquired."""

ACQUIRE_LUA = """\
-- KEYS: lock, epoch, grace   ARGV: token, ttl_ms, restart_grace ('1' or '0')
-- reply: the new epoch (an integer) when acquired; otherwise {status, value}:
-- {1, epoch} renewed, {2, pttl_ms} held by another token, {3, pttl_ms} restart grace
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, tonumber(redis.call('GET', KEYS[2]) or '0')}
end
if holder then
  return {2, redis.call('PTTL', KEYS[1])}
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  -- new or data-lost store: the epoch restarts from the server clock in microseconds,
  -- above any epoch handed out before the loss
  local now = redis.call('TIME')
  redis.call('SET', KEYS[2], now[1] .. string.sub('00000' .. now[2], -6))
  if ARGV[3] == '1' then
    redis.call('SET', KEYS[3], '1', 'PX', ARGV[2])
    return {3, tonumber(ARGV[2])}
  end
else
  local grace = redis.call('PTTL', KEYS[3])
  if grace ~= -2 then
    return {3, grace}
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return redis.call('INCR', KEYS[2])
"""

EXTEND_LUA = """\
-- KEYS: lock   ARGV: token, ttl_ms   reply: 1 extended, 0 not ours
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""

RELEASE_LUA = """\
-- KEYS: lock   ARGV: token, channel   reply: 1 released (and published), 0 not ours
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  redis.call('PUBLISH', ARGV[2], 'released')
  return 1
end
return 0
"""


def pack(*parts: bytes) -> bytes:
    """Encode one command as a RESP array of bulk strings (valid for RESP2 and RESP3)."""
    head = b"*%d\r\n" % len(parts)
    return head + b"".join(b"$%d\r\n%s\r\n" % (len(part), part) for part in parts)


@dataclass(frozen=True, slots=True)
class Script:
    """A Lua script with its SHA1 and its packed ``SCRIPT LOAD``."""

    source: str

    @property
    def sha(self) -> bytes:
        """Hex SHA1 of the source, as Redis names the script."""
        return hashlib.sha1(self.source.encode(), usedforsecurity=False).hexdigest().encode()

    @property
    def load(self) -> bytes:
        """The packed ``SCRIPT LOAD <source>``."""
        return pack(b"SCRIPT", b"LOAD", self.source.encode())

    def call(self, keys: tuple[bytes, ...], args: tuple[bytes, ...]) -> bytes:
        """The packed ``EVALSHA <sha> <numkeys> keys... args...``."""
        return pack(b"EVALSHA", self.sha, b"%d" % len(keys), *keys, *args)


ACQUIRE = Script(ACQUIRE_LUA)
EXTEND = Script(EXTEND_LUA)
RELEASE = Script(RELEASE_LUA)
