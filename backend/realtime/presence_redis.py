"""Presence counts in Redis, for any number of workers: one Lua script, one round trip a round.

Keys, all under the deployment's prefix:

- `<prefix>:presence:workers`: a sorted set of worker ids, scored by when each one's lease
  ends (milliseconds, Redis's own clock); expired members are dropped by the next call;
- `<prefix>:presence:worker:<id>`: a hash of that worker's follower count per post, expiring
  shortly after its lease, so a dead worker's counts disappear without anyone's help.

Totals are read only from the hashes of workers whose lease is live, so a dead worker stops
counting the moment its lease ends. (Redis 7.0 has no expiry per hash field, hence a hash
per worker rather than one per post.)
"""

from collections.abc import Mapping, Sequence

import redis.asyncio

from realtime.presence import SyncResult

# ARGV: prefix, worker, lease (ms), number of changed posts, then (post id, count) pairs,
# then the wanted post ids. Returns {1 if the lease was live before this call, totals...}.
SYNC_LUA = """
local prefix, worker, lease = ARGV[1], ARGV[2], tonumber(ARGV[3])
local changed = tonumber(ARGV[4])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local workers_key = prefix .. ':presence:workers'
local mine = prefix .. ':presence:worker:' .. worker
redis.call('ZREMRANGEBYSCORE', workers_key, '-inf', now)
local renewed = redis.call('ZSCORE', workers_key, worker) and 1 or 0
if renewed == 0 then
  -- Counts left from a lapsed lease are stale; the caller writes them all again.
  redis.call('DEL', mine)
end
for i = 5, 4 + 2 * changed, 2 do
  if ARGV[i + 1] == '0' then
    redis.call('HDEL', mine, ARGV[i])
  else
    redis.call('HSET', mine, ARGV[i], ARGV[i + 1])
  end
end
redis.call('ZADD', workers_key, now + lease, worker)
redis.call('PEXPIRE', workers_key, lease + 1000)
redis.call('PEXPIRE', mine, lease + 1000)
local out = {renewed}
local first = 5 + 2 * changed
for i = first, #ARGV do
  out[#out + 1] = 0
end
if first <= #ARGV then
  for _, live in ipairs(redis.call('ZRANGE', workers_key, 0, -1)) do
    local key = prefix .. ':presence:worker:' .. live
    -- HMGET in slices: Lua's unpack() is limited to a few thousand values.
    for start = first, #ARGV, 1000 do
      local stop = math.min(start + 999, #ARGV)
      local counts = redis.call('HMGET', key, unpack(ARGV, start, stop))
      for j, count in ipairs(counts) do
        if count then
          local slot = start - first + j + 1
          out[slot] = out[slot] + tonumber(count)
        end
      end
    end
  end
end
return out
"""

LEAVE_LUA = """
redis.call('ZREM', ARGV[1] .. ':presence:workers', ARGV[2])
redis.call('DEL', ARGV[1] .. ':presence:worker:' .. ARGV[2])
"""


class RedisPresenceStore:
    def __init__(self, *, client: redis.asyncio.Redis, prefix: str) -> None:
        self.prefix = prefix
        self._client = client
        self._sync = self._client.register_script(SYNC_LUA)
        self._leave = self._client.register_script(LEAVE_LUA)

    async def sync(self, *, worker: str, changed: Mapping[int, int], wanted: Sequence[int], ttl: float) -> SyncResult:
        args: list[str | int] = [self.prefix, worker, int(ttl * 1000), len(changed)]
        for post_id, count in changed.items():
            args += (post_id, count)
        args += wanted
        reply = await self._sync(args=args)
        return SyncResult(totals=dict(zip(wanted, map(int, reply[1:]), strict=True)), renewed=bool(reply[0]))

    async def leave(self, *, worker: str) -> None:
        await self._leave(args=[self.prefix, worker])

    async def close(self) -> None:
        await self._client.aclose()
