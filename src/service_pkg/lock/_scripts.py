"""The three Lua scripts of ``RedisLock``.

Each lock operation is one ``EVALSHA`` (with ``min_replicas``, plus a ``WAIT`` in the same
write: still one round trip); a ``NOSCRIPT`` reply (a restarted, failed-over or ``SCRIPT
FLUSH``-ed server) costs one ``SCRIPT LOAD`` and the batch again.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

RENEWED, HELD, GRACE = 1, 2, 3
"""Status codes of the acquire script's array reply; a plain integer reply means acquired."""
MOVED_UPTIME = -1
"""The third element of a ``GRACE`` reply when the grace is there because the master changed."""
EXTENDED, MASTER_CHANGED = 1, 2
"""Replies of the extend script (0: not ours)."""

ACQUIRE_LUA = """\
-- KEYS: lock, epoch, node, grace   ARGV: token, ttl_ms, restart_grace ('1' or '0')
-- reply: the new epoch (an integer) when acquired; otherwise {status, value[, uptime_s]}:
-- {1, epoch} renewed, {2, pttl_ms} held by another token, {3, ms_left, uptime_s} grace
-- (uptime_s = -1: the grace is there because the master changed)
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then
  return {2, redis.call('PTTL', KEYS[1])}
end
if ARGV[3] == '1' then
  -- run_id names the server process: a failover to a replica, a restart from a snapshot and
  -- a fail-back all show as a run_id other than the one stored at the last acquisition.
  local info = redis.call('INFO', 'server')
  local run_id = string.match(info, 'run_id:(%x+)') or ''
  local node = redis.call('GET', KEYS[3])
  if node and node ~= run_id then
    -- The master changed since this name was last acquired: writes made on the old one after
    -- the last replicated one (a holder's renewals, our own key) may be lost. Nobody acquires
    -- for one lease from now; by then a holder that kept renewing over there has passed its
    -- own deadline. The grace starts when the change is first seen, never earlier.
    if holder then
      redis.call('DEL', KEYS[1])
    end
    redis.call('SET', KEYS[3], run_id)
    redis.call('SET', KEYS[4], '1', 'PX', ARGV[2])
    return {3, tonumber(ARGV[2]), -1}
  end
  if not holder then
    local left = redis.call('PTTL', KEYS[4])
    if left > 0 then
      return {3, left, -1}
    end
    -- Evidence of data loss: a server up for less than one lease may have restarted without
    -- the key while a holder still believes it leads; that holder's lease ends at the latest
    -- one lease after the restart. Redis counts its uptime as the difference of two truncated
    -- second counters, so it can read 1 a few ms after the start: one second less is what is
    -- sure to have passed, and the grace errs long (by under 2 s), never short.
    local uptime = tonumber(string.match(info, 'uptime_in_seconds:(%d+)') or '0')
    left = tonumber(ARGV[2]) - math.max(uptime - 1, 0) * 1000
    if left > 0 then
      return {3, left, uptime}
    end
    redis.call('SET', KEYS[3], run_id)
  end
end
if holder then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, tonumber(redis.call('GET', KEYS[2]) or '0')}
end
-- epoch = max(last + 1, server TIME in microseconds): a term begun after any loss of data
-- (restart, failover to a replica that missed writes) outranks every earlier one, as long as
-- the servers' clocks agree within the bound docs/lock.md states. Doubles hold these integers
-- exactly (2^53 us is the year 2255); '%.0f' writes them without an exponent.
local now = redis.call('TIME')
local micros = tonumber(now[1]) * 1000000 + tonumber(now[2])
local epoch = math.max(tonumber(redis.call('GET', KEYS[2]) or '0') + 1, micros)
redis.call('SET', KEYS[2], string.format('%.0f', epoch))
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return epoch
"""

EXTEND_LUA = """\
-- KEYS: lock, node, grace   ARGV: token, ttl_ms, check ('1' or '0')
-- reply: 1 extended, 0 not ours, 2 the master changed since our acquisition (key dropped,
-- grace begun: see the acquire script)
if redis.call('GET', KEYS[1]) ~= ARGV[1] then
  return 0
end
if ARGV[3] == '1' then
  local node = redis.call('GET', KEYS[2])
  local run_id = string.match(redis.call('INFO', 'server'), 'run_id:(%x+)') or ''
  if node and node ~= run_id then
    redis.call('DEL', KEYS[1])
    redis.call('SET', KEYS[2], run_id)
    redis.call('SET', KEYS[3], '1', 'PX', ARGV[2])
    return 2
  end
end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])
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
