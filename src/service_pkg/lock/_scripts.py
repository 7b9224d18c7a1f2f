"""The three Lua scripts of ``RedisLock``.

Each lock operation is one ``EVALSHA`` (one round trip), sent through redis-py's script
objects (``Redis.register_script``): a ``NOSCRIPT`` reply (a restarted or ``SCRIPT FLUSH``-ed
server) costs one ``SCRIPT LOAD`` and a second ``EVALSHA``, done by redis-py.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

RENEWED, HELD, GRACE = 1, 2, 3
"""Status codes of the acquire script's array reply; a plain integer reply means acquired."""

ACQUIRE_LUA = """\
-- KEYS: lock, epoch   ARGV: token, ttl_ms, restart_grace ('1' or '0')
-- reply: the new epoch (an integer) when acquired; otherwise {status, value[, uptime_s]}:
-- {1, epoch} renewed, {2, pttl_ms} held by another token, {3, ms_left, uptime_s} grace
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, tonumber(redis.call('GET', KEYS[2]) or '0')}
end
if holder then
  return {2, redis.call('PTTL', KEYS[1])}
end
if ARGV[3] == '1' then
  -- Evidence of data loss: a server up for less than one lease may have restarted without
  -- the key while a holder still believes it leads; that holder's lease ends at the latest
  -- one lease after the restart. Redis counts its uptime as the difference of two truncated
  -- second counters, so it can read 1 a few ms after the start: one second less is what is
  -- sure to have passed, and the grace errs long (by under 2 s), never short.
  local info = redis.call('INFO', 'server')
  local uptime = tonumber(string.match(info, 'uptime_in_seconds:(%d+)') or '0')
  local left = tonumber(ARGV[2]) - math.max(uptime - 1, 0) * 1000
  if left > 0 then
    return {3, left, uptime}
  end
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  -- new name or data-lost store: the epoch restarts from the server clock in microseconds,
  -- above any epoch handed out before the loss
  local now = redis.call('TIME')
  redis.call('SET', KEYS[2], now[1] .. string.sub('00000' .. now[2], -6))
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


@dataclass(frozen=True, slots=True)
class Script:
    """A Lua script's source and the SHA1 Redis names it by."""

    source: str

    @property
    def sha(self) -> str:
        """Hex SHA1 of the source, as ``SCRIPT LOAD`` returns it."""
        return hashlib.sha1(self.source.encode(), usedforsecurity=False).hexdigest()


ACQUIRE = Script(ACQUIRE_LUA)
EXTEND = Script(EXTEND_LUA)
RELEASE = Script(RELEASE_LUA)
