"""The Redis store: each operation is one Lua script, so it is atomic however many processes ask.

Per subject one hash (``blocked_until``, ``blocked_by``, ``level``, ``last``)
and per rule one sorted set of uses scored by their time, all under one hash tag
so a cluster keeps them on one node. Times are integer milliseconds of the
product clock (``core.clock``), passed in, never Redis's own clock. Only rules
that may be lost with the cache come here (``Rule.durable`` false, ADR 0003);
an unreachable Redis raises ``ThrottleUnavailableError``: callers fail closed.
"""

import secrets
from datetime import UTC, datetime
from functools import cache

import redis
from django.conf import settings
from redis.commands.core import Script

from opensspr.throttles.base import Block, Reservation, ThrottleUnavailableError, Verdict
from opensspr.throttles.rules import Pauses, Rule, Scope, rules_of

# KEYS: subject hash, the rule's uses. ARGV: now, window, limit, reserve (1/0),
# quiet reset (1/0), first and cap penalty (0: none), member, rule name, ttl;
# times in ms. Returns {allowed, blocked until (0: none), newly blocked, counted}.
TAKE = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local reserve, quiet = ARGV[4] == '1', ARGV[5] == '1'
local first, cap, ttl = tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[10])
local blocked = tonumber(redis.call('HGET', KEYS[1], 'blocked_until') or '0')
if blocked > now then return {0, blocked, 0, 0} end
if quiet then
  local last = tonumber(redis.call('HGET', KEYS[1], 'last') or '0')
  if last > 0 and now - last > window then
    redis.call('DEL', KEYS[2])
    redis.call('HSET', KEYS[1], 'level', 0)
  end
  redis.call('HSET', KEYS[1], 'last', ARGV[1])
else
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
end
local function penalise()
  local level = redis.call('HINCRBY', KEYS[1], 'level', 1)
  local till = now + math.min(first * 2 ^ (level - 1), cap)
  redis.call('HSET', KEYS[1], 'blocked_until', string.format('%d', till), 'blocked_by', ARGV[9])
  return till
end
local count = redis.call('ZCARD', KEYS[2])
local result
if count >= limit and not (reserve and first > 0) then
  if first > 0 then
    result = {0, penalise(), 1, 0}
  else
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    result = {0, tonumber(oldest[2]) + window, 0, 0}
  end
else
  redis.call('ZADD', KEYS[2], now, ARGV[8])
  if reserve and first > 0 and count + 1 >= limit then
    result = {1, penalise(), 1, 1}
  else
    result = {1, 0, 0, 1}
  end
end
redis.call('PEXPIRE', KEYS[1], ttl)
redis.call('PEXPIRE', KEYS[2], ttl)
return result
"""

# KEYS: subject hash, the rule's uses. ARGV: member, the block it set ('' if none).
GIVE_BACK = """
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[2] ~= '' and redis.call('HGET', KEYS[1], 'blocked_until') == ARGV[2] then
  redis.call('HDEL', KEYS[1], 'blocked_until', 'blocked_by')
  redis.call('HINCRBY', KEYS[1], 'level', -1)
end
return 1
"""

# KEYS: subject hash, the rule's uses. ARGV: now, window, limit, has penalty (1/0).
# Returns the active block, or when a full window frees, or 0.
BLOCKED_UNTIL = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local blocked = tonumber(redis.call('HGET', KEYS[1], 'blocked_until') or '0')
if blocked > now then return blocked end
if ARGV[4] == '1' then return 0 end
local inside = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. (now - window), '+inf', 'WITHSCORES')
if #inside / 2 < limit then return 0 end
return tonumber(inside[2]) + window
"""


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _moment(ms: int) -> datetime | None:
    return datetime.fromtimestamp(ms / 1000, tz=UTC) if ms else None


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)


@cache
def _script(url: str, source: str) -> Script:
    """Registered once per process; runs by its SHA (EVALSHA), loading it again if needed."""
    return _client(url).register_script(source)


def _keys(rule: Rule, digest: str) -> list[str]:
    tag = f"opensspr:throttle:{{{rule.scope}:{digest[:32]}}}"
    return [tag, f"{tag}:{rule.name}"]


def _scope_ttl_ms(scope: Scope) -> int:
    """Keys live as long as any rule of the scope may still need them."""
    longest = max(
        rule.window.total_seconds() + rule.penalty_seconds()[1] for rule in rules_of(scope)
    )
    return int(longest * 1000) + 1000


class RedisStore:
    def __init__(self, url: str | None = None) -> None:
        self.url = url or settings.REDIS_URL

    def _run(self, script: str, keys: list[str], args: list[str | int]) -> object:
        try:
            return _script(self.url, script)(keys=keys, args=args)
        except redis.RedisError as exc:
            raise ThrottleUnavailableError("the throttle store can't be reached") from exc

    def take(
        self, rule: Rule, digest: str, now: datetime, *, reserve: bool, fingerprint: str
    ) -> Reservation:
        if fingerprint:
            raise ValueError(f"{rule.name}: remembered repeats are kept in the database only")
        if isinstance(rule.penalty, Pauses):
            raise ValueError(f"{rule.name}: growing pauses are kept in the database only")
        first, cap = rule.penalty_seconds()
        member = secrets.token_hex(8)
        args: list[str | int] = [
            _ms(now),
            int(rule.window.total_seconds() * 1000),
            rule.max_uses(),
            int(reserve),
            int(rule.quiet_reset),
            first * 1000,
            cap * 1000,
            member,
            rule.name,
            _scope_ttl_ms(rule.scope),
        ]
        reply = self._run(TAKE, _keys(rule, digest), args)
        allowed, until, newly, counted = (int(v) for v in reply)  # type: ignore[attr-defined]  # a Lua table
        verdict = Verdict(bool(allowed), _moment(until), newly_blocked=bool(newly))
        penalised = bool(allowed and newly)
        return Reservation(rule, digest, verdict, member if counted else "", penalised)

    def give_back(self, reservation: Reservation) -> None:
        until = reservation.blocked_until if reservation.penalised else None
        block = str(_ms(until)) if until else ""
        keys = _keys(reservation.rule, reservation.digest)
        self._run(GIVE_BACK, keys, [reservation.token, block])

    def blocked_until(self, rule: Rule, digest: str, now: datetime) -> datetime | None:
        args: list[str | int] = [
            _ms(now),
            int(rule.window.total_seconds() * 1000),
            rule.max_uses(),
            int(rule.penalty is not None),
        ]
        reply = self._run(BLOCKED_UNTIL, _keys(rule, digest), args)
        return _moment(int(reply))  # type: ignore[call-overload]  # a Lua integer

    def clear(self, scope: Scope, digests: list[str], now: datetime) -> dict[str, Block]:
        """Read the blocks and delete the keys in one MULTI/EXEC."""
        rules = rules_of(scope)
        try:
            pipe = _client(self.url).pipeline(transaction=True)
            for d in digests:
                pipe.hmget(_keys(rules[0], d)[0], "blocked_until", "blocked_by")
                pipe.delete(*{key for rule in rules for key in _keys(rule, d)})
            replies = pipe.execute()
        except redis.RedisError as exc:
            raise ThrottleUnavailableError("the throttle store can't be reached") from exc
        lifted: dict[str, Block] = {}
        for d, (until, by) in zip(digests, replies[::2], strict=True):
            moment = _moment(int(until or 0))
            if moment and moment > now:
                lifted[d] = Block(moment, (by or b"").decode())
        return lifted
