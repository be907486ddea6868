"""The stream log on Redis: numbering, backlog and publish in one Lua script, one round trip.

Redis runs a script alone, so the seq it gives is one above the stream's previous one
whichever worker called, and its PUBLISH reaches every hub in that order. Keys, all under
the deployment's prefix:

- `<prefix>:streams:epoch`: the epoch, created by whichever call finds it missing (so it
  changes exactly when Redis lost its data); it never expires;
- `<prefix>:streams:seqs`: a hash of every stream's current seq; it never expires, so a
  live socket's position stays meaningful however long a stream was idle;
- `<prefix>:streams:backlog:<stream>`: the last events, a list capped at the backlog setting;
- `<prefix>:streams:versions:<stream>`: the newest like-count version numbered per object.
  The last two expire after the stream's idle expiry;
- `<prefix>:streams:round`: the longest delivery round (seconds) a socket worker reported
  within the report's lifetime (realtime/window.py).

The hubs receive the events through the channel layer's subscription: the script publishes
in the layer's own wire format (realtime/channels_redis_wire.py).
"""

import asyncio
import uuid
import weakref
from collections.abc import Awaitable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple, cast

import redis
import redis.asyncio

from realtime import channels_redis_wire as wire
from realtime.events import EVENTS_GROUP, HUB_MESSAGE_TYPE, Event
from realtime.streams import Backlog, Positions
from realtime.window import ROUND_REPORT_TTL_SECONDS

_EPOCH = """
local function epoch_of(prefix, candidate)
  local key = prefix .. ':streams:epoch'
  local epoch = redis.call('GET', key)
  if not epoch then
    epoch = candidate
    redis.call('SET', key, epoch)
  end
  return epoch
end
"""

# ARGV: prefix, candidate epoch, backlog cap, idle expiry (s), channel, then five per event:
# stream, coalesce key ('' for none), version, text.
PUBLISH_LUA = (
    _EPOCH
    + """
local prefix = ARGV[1]
local epoch = epoch_of(prefix, ARGV[2])
local cap = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local seqs_key = prefix .. ':streams:seqs'
local out = {}
for i = 6, #ARGV, 4 do
  local stream, key, text = ARGV[i], ARGV[i + 1], ARGV[i + 3]
  local keep = true
  if key ~= '' then
    local version = tonumber(ARGV[i + 2])
    local versions_key = prefix .. ':streams:versions:' .. stream
    local newest = tonumber(redis.call('HGET', versions_key, key) or '-1')
    if version <= newest then
      keep = false
    else
      redis.call('HSET', versions_key, key, version)
      redis.call('EXPIRE', versions_key, ttl)
    end
  end
  if keep then
    local seq = redis.call('HINCRBY', seqs_key, stream, 1)
    text = '{"stream":"' .. stream .. '","seq":' .. seq .. ',' .. string.sub(text, 2)
    local backlog_key = prefix .. ':streams:backlog:' .. stream
    redis.call('RPUSH', backlog_key, text)
    redis.call('LTRIM', backlog_key, -cap, -1)
    redis.call('EXPIRE', backlog_key, ttl)
    out[#out + 1] = {stream, seq, text}  -- an events.NumberedEvent, by position
  end
end
if #out > 0 then
  redis.call('PUBLISH', ARGV[5], """
    + wire.LUA_SERIALIZE
    + """({type = '"""
    + HUB_MESSAGE_TYPE
    + """', epoch = epoch, events = out}))
end
return #out
"""
)

# ARGV: prefix, candidate epoch, then two per stream: stream, position (-1: seq only).
# Answer: {epoch, then per stream {seq, status, texts...}}; status 1 recovered, 0 lost.
READ_LUA = (
    _EPOCH
    + """
local prefix = ARGV[1]
local answer = {epoch_of(prefix, ARGV[2])}
local seqs_key = prefix .. ':streams:seqs'
for i = 3, #ARGV, 2 do
  local stream, position = ARGV[i], tonumber(ARGV[i + 1])
  local seq = tonumber(redis.call('HGET', seqs_key, stream) or '0')
  local entry = {seq, 0}
  if position >= 0 and position <= seq then
    local missed = seq - position
    local backlog_key = prefix .. ':streams:backlog:' .. stream
    if missed == 0 then
      entry[2] = 1
    elseif missed <= redis.call('LLEN', backlog_key) then
      entry[2] = 1
      local texts = redis.call('LRANGE', backlog_key, -missed, -1)
      for j = 1, #texts do entry[#entry + 1] = texts[j] end
    end
  end
  answer[#answer + 1] = entry
end
return answer
"""
)


# ARGV: key, seconds, lifetime (ms). A report replaces a shorter one, or one that expired.
REPORT_ROUND_LUA = """
local current = tonumber(redis.call('GET', ARGV[1]) or '-1')
if tonumber(ARGV[2]) >= current then
  redis.call('SET', ARGV[1], ARGV[2], 'PX', ARGV[3])
end
"""


class _LoopClient(NamedTuple):
    """One event loop's client and the scripts registered on it."""

    client: redis.asyncio.Redis
    publish: Any
    read: Any
    report_round: Any


class RedisStreamLog:
    def __init__(self, *, host: dict[str, Any], prefix: str, channel: str, backlog: int, idle_expiry: int) -> None:
        self.prefix = prefix
        self._host = host
        self._channel = channel
        self._cap = backlog
        self._idle_expiry = idle_expiry
        self._client = wire.sync_client(host)
        self._seqs_key = f"{prefix}:streams:seqs"
        self._round_key = f"{prefix}:streams:round"
        self._publish_script = self._client.register_script(PUBLISH_LUA)
        self._read_script = self._client.register_script(READ_LUA)
        self._async: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClient] = weakref.WeakKeyDictionary()

    @classmethod
    def from_layer_settings(cls, layer_settings: dict[str, Any], *, backlog: int, idle_expiry: int) -> "RedisStreamLog":
        hosts, prefix = wire.layer_hosts_and_prefix(layer_settings)
        channel = wire.group_channel(prefix, EVENTS_GROUP)
        host = wire.shard_host(hosts, channel)
        return cls(host=host, prefix=prefix, channel=channel, backlog=backlog, idle_expiry=idle_expiry)

    def _on_loop(self) -> _LoopClient:
        """This loop's client and its scripts."""
        loop = asyncio.get_running_loop()
        entry = self._async.get(loop)
        if entry is None:
            client = wire.async_client(self._host)
            entry = self._async[loop] = _LoopClient(
                client,
                client.register_script(PUBLISH_LUA),
                client.register_script(READ_LUA),
                client.register_script(REPORT_ROUND_LUA),
            )
        return entry

    # -- publishing ---------------------------------------------------------------------

    def _publish_args(self, events: Sequence[Event]) -> list[Any]:
        args: list[Any] = [self.prefix, uuid.uuid4().hex, self._cap, self._idle_expiry, self._channel]
        for event in events:
            args += (event.group, event.coalesce_key or "", event.version, event.text)
        return args

    def publish(self, events: Sequence[Event]) -> int:
        if not events:
            return 0
        return int(self._publish_script(args=self._publish_args(events)))

    async def apublish(self, events: Sequence[Event]) -> int:
        if not events:
            return 0
        return int(await self._on_loop().publish(args=self._publish_args(events)))

    # -- reading --------------------------------------------------------------------------

    def _read_args(self, positions: Mapping[str, int]) -> list[Any]:
        args: list[Any] = [self.prefix, uuid.uuid4().hex]
        for stream, position in positions.items():
            args += (stream, position)
        return args

    @staticmethod
    def _positions(answer: list[Any], streams: list[str]) -> Positions:
        return Positions(answer[0].decode(), {s: int(entry[0]) for s, entry in zip(streams, answer[1:], strict=True)})

    def positions(self, streams: Iterable[str]) -> Positions:
        wanted = list(streams)
        return self._positions(self._read_script(args=self._read_args(dict.fromkeys(wanted, -1))), wanted)

    async def apositions(self, streams: Iterable[str]) -> Positions:
        wanted = list(streams)
        answer = await self._on_loop().read(args=self._read_args(dict.fromkeys(wanted, -1)))
        return self._positions(answer, wanted)

    # redis-py types each command for its blocking and its asyncio client at once: cast to the one called.
    def seq(self, stream: str) -> int:
        return int(cast("bytes | None", self._client.hget(self._seqs_key, stream)) or 0)

    async def aseq(self, stream: str) -> int:
        client = self._on_loop().client
        return int(await cast("Awaitable[bytes | None]", client.hget(self._seqs_key, stream)) or 0)

    async def aread_since(self, positions: Mapping[str, int]) -> Backlog:
        answer = await self._on_loop().read(args=self._read_args(positions))
        seqs: dict[str, int] = {}
        recovered: dict[str, list[tuple[int, str]]] = {}
        lost: list[str] = []
        for (stream, position), entry in zip(positions.items(), answer[1:], strict=True):
            seqs[stream] = int(entry[0])
            if entry[1] != 1:
                lost.append(stream)
                continue
            recovered[stream] = [(position + 1 + i, text.decode()) for i, text in enumerate(entry[2:])]
        return Backlog(answer[0].decode(), seqs, recovered, lost)

    # -- the delivery rounds, for the publishers' window ------------------------------------

    async def areport_round(self, seconds: float) -> None:
        report = self._on_loop().report_round
        await report(args=[self._round_key, repr(seconds), int(ROUND_REPORT_TTL_SECONDS * 1000)])

    def round_time(self) -> float | None:
        value = cast("bytes | None", self._client.get(self._round_key))
        return None if value is None else float(value)

    async def around_time(self) -> float | None:
        value = await cast("Awaitable[bytes | None]", self._on_loop().client.get(self._round_key))
        return None if value is None else float(value)

    async def aclose(self) -> None:
        entry = self._async.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry.client.aclose(close_connection_pool=True)
