"""Rate limits: GCRA buckets per IP and per key in Redis, 429 with headers, fail-open."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

import pytest
import redis

from components.gateway import names
from components.gateway.platform.allowance import cap
from components.gateway.platform.clientip import bucket_ip, client_ip
from components.gateway.platform.ratelimit import RateLimiter
from components.gateway.platform.settings import parse_limit, parse_networks
from mobo.exceptions import ConfigError
from mobo.kernel.keys import Keys
from tests.conftest import REDIS_URL
from tests.gateway.platform_support import anon, app_client, make_board, service

RATE_HEADERS = ("ratelimit-limit", "ratelimit-remaining", "ratelimit-reset")


def limited(home: Path, keys: Keys, **rate_limit: object):  # type: ignore[no-untyped-def]
    return make_board(home, keys, rate_limit=rate_limit)


# -- settings


@pytest.mark.parametrize(
    ("text", "count", "period", "burst"),
    [
        ("100/1s", 100, 1.0, 100),
        ("150/5m burst 30", 150, 300.0, 30),
        ("10/h", 10, 3600.0, 10),
        (" 5 / 500ms burst 2 ", 5, 0.5, 2),
    ],
)
def test_rate_specs_parse(text: str, count: int, period: float, burst: int) -> None:
    limit = parse_limit(text, "rate_limit.rest_ip")
    assert limit is not None
    assert (limit.count, limit.period_s, limit.burst) == (count, period, burst)


@pytest.mark.parametrize("text", ["", "off", "OFF"])
def test_an_empty_spec_means_no_limit(text: str) -> None:
    assert parse_limit(text, "x") is None


@pytest.mark.parametrize("text", ["100", "100/", "x/1s", "0/1s", "10/1s burst 0", "10/1w"])
def test_a_bad_spec_names_the_key(text: str) -> None:
    with pytest.raises(ConfigError, match=r"rate_limit\.auth_ip"):
        parse_limit(text, "rate_limit.auth_ip")


def test_a_bad_config_value_stops_create_app(home: Path, keys: Keys) -> None:
    config = limited(home, keys, rest_ip="lots")
    with pytest.raises(ConfigError, match=r"rate_limit\.rest_ip"):
        with app_client(config):
            pass


def test_bad_trusted_proxy_is_refused() -> None:
    with pytest.raises(ConfigError, match="trusted_proxies"):
        parse_networks(("10.0.0.0/8", "not-an-ip"), "gateway.trusted_proxies")


# -- client IP


TRUSTED = parse_networks(("127.0.0.1", "10.0.0.0/8", "::1"), "t")


@pytest.mark.parametrize(
    ("peer", "xff", "expected"),
    [
        ("203.0.113.9", "1.2.3.4", "203.0.113.9"),  # untrusted peer: header ignored
        ("127.0.0.1", None, "127.0.0.1"),
        ("127.0.0.1", "198.51.100.7", "198.51.100.7"),
        ("127.0.0.1", "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # spoofed left part ignored
        ("127.0.0.1", "198.51.100.7, 10.1.2.3", "198.51.100.7"),  # trusted hops skipped
        ("127.0.0.1", "10.1.2.3, 10.4.5.6", "10.1.2.3"),  # all trusted: the leftmost
        ("127.0.0.1", "garbage", "127.0.0.1"),
        ("127.0.0.1", "198.51.100.7:5555", "198.51.100.7"),
        ("::1", "[2001:db8::1]:443", "2001:db8::1"),
        ("::ffff:127.0.0.1", "198.51.100.7", "198.51.100.7"),
        ("", None, "unknown"),
    ],
)
def test_client_ip(peer: str, xff: str | None, expected: str) -> None:
    assert client_ip(peer, xff, TRUSTED) == expected


def test_ipv6_clients_share_their_64() -> None:
    assert bucket_ip("2001:db8:1:2:aaaa::1") == bucket_ip("2001:db8:1:2:bbbb::9")
    assert bucket_ip("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert bucket_ip("198.51.100.7") == "198.51.100.7"


# -- the GCRA script against Redis


def test_gcra_allows_a_burst_then_refuses_then_recovers(
    redis_client: redis.Redis, keys: Keys
) -> None:
    limiter = RateLimiter(redis_client, keys)
    limit = parse_limit("4/400ms", "t")
    assert limit is not None
    verdicts = [limiter.check([("b", limit)]) for _ in range(5)]
    assert [v.allowed for v in verdicts if v] == [True, True, True, True, False]
    assert [v.remaining for v in verdicts if v] == [3, 2, 1, 0, 0]
    refused = verdicts[-1]
    assert refused is not None and refused.retry_after_s >= 1
    time.sleep(0.12)  # one interval (100 ms) later, one more request fits
    again = limiter.check([("b", limit)])
    assert again is not None and again.allowed


def test_a_refused_request_is_not_counted_in_any_bucket(
    redis_client: redis.Redis, keys: Keys
) -> None:
    limiter = RateLimiter(redis_client, keys)
    wide, narrow = parse_limit("100/1s", "t"), parse_limit("1/1m", "t")
    assert wide is not None and narrow is not None
    assert limiter.check([("wide", wide), ("narrow", narrow)]).allowed  # type: ignore[union-attr]
    for _ in range(5):
        assert not limiter.check([("wide", wide), ("narrow", narrow)]).allowed  # type: ignore[union-attr]
    verdict = limiter.check([("wide", wide)])
    assert verdict is not None and verdict.remaining == 98  # only the first request counted


def test_bucket_keys_expire_once_drained(redis_client: redis.Redis, keys: Keys) -> None:
    limit = parse_limit("10/1s", "t")
    assert limit is not None
    RateLimiter(redis_client, keys).check([("ttl", limit)])
    ttl = redis_client.pttl(names.rate_limit(keys, "ttl"))
    assert 0 < ttl <= 102


# -- blocks: a worker reserves several requests of a bucket at once


def _drive(prefix: str, spec: str, checks: int, start: object, out: object) -> None:
    """One worker process: `checks` requests against bucket "shared"; puts (allowed, trips)."""
    limit = parse_limit(spec, "t")
    assert limit is not None
    limiter = RateLimiter(redis.Redis.from_url(REDIS_URL), Keys(prefix=prefix))
    start.wait(30)  # type: ignore[attr-defined]
    verdicts = [limiter.check([("shared", limit)]) for _ in range(checks)]
    allowed = sum(1 for v in verdicts if v is not None and v.allowed)
    out.put((allowed, limiter.round_trips, sum(1 for v in verdicts if v is None)))  # type: ignore[attr-defined]


def test_a_hot_bucket_is_reserved_in_blocks_and_counted_exactly_in_one_worker(
    redis_client: redis.Redis, keys: Keys
) -> None:
    limit = parse_limit("100/1h burst 640", "t")  # blocks of at most 640 / 32 = 20
    assert limit is not None and cap(limit) == 20
    limiter = RateLimiter(redis_client, keys)
    verdicts = [limiter.check([("hot", limit)]) for _ in range(300)]
    assert all(v is not None and v.allowed for v in verdicts)
    assert [v.remaining for v in verdicts if v] == list(range(639, 339, -1))
    assert limiter.round_trips < 30  # 1, 2, 4, 8, 16, then 20 at a time
    # what Redis holds covers every request answered locally (counted before it passed)
    tat_us = int(redis_client.get(names.rate_limit(keys, "hot")) or 0)
    now_us = int(redis_client.time()[0]) * 1_000_000
    assert tat_us - now_us >= 299 * limit.interval_us


def test_a_rarely_seen_bucket_is_counted_one_request_at_a_time(
    redis_client: redis.Redis, keys: Keys
) -> None:
    limit = parse_limit("100/1h burst 640", "t")
    assert limit is not None
    limiter = RateLimiter(redis_client, keys, blocks=False)
    for _ in range(5):
        assert limiter.check([("cold", limit)]).allowed  # type: ignore[union-attr]
    assert limiter.round_trips == 5
    assert redis_client.pttl(names.rate_limit(keys, "cold")) <= 5 * limit.interval_us // 1000 + 2


def test_a_refusal_is_answered_locally_until_the_bucket_has_room(
    redis_client: redis.Redis, keys: Keys
) -> None:
    limit = parse_limit("2/1m", "t")
    assert limit is not None
    limiter = RateLimiter(redis_client, keys)
    verdicts = [limiter.check([("full", limit)]) for _ in range(10)]
    assert [v.allowed for v in verdicts if v] == [True, True] + [False] * 8
    assert limiter.round_trips == 3  # two grants, one refusal; the rest from memory
    assert all(v is not None and v.retry_after_s >= 29 for v in verdicts[2:])


def test_two_worker_processes_share_a_bucket_within_the_documented_bound(
    keys: Keys,
) -> None:
    """Blocks reserved by two processes: never more than the burst passes (no time for
    refills at 100/h), and at most one block per worker is refused early."""
    spec = "100/1h burst 640"
    limit = parse_limit(spec, "t")
    assert limit is not None
    ctx = multiprocessing.get_context("spawn")
    start, out = ctx.Event(), ctx.Queue()
    workers = [
        ctx.Process(target=_drive, args=(keys.prefix, spec, 400, start, out)) for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    start.set()
    results = [out.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(30)
    assert all(failed == 0 for _, _, failed in results)  # Redis answered every call
    allowed = sum(a for a, _, _ in results)
    assert limit.burst - 2 * cap(limit) <= allowed <= limit.burst
    assert all(trips < 400 // 4 for _, trips, _ in results)  # mostly answered locally


# -- over HTTP


def test_limit_hit_answers_429_with_headers_then_recovers(home: Path, keys: Keys) -> None:
    # an interval of 1 s: four requests fit in it even on a loaded machine
    config = limited(home, keys, rest_ip="3/3s", rest_key="")
    with app_client(config) as (client, _):
        answers = [client.simulate_get("/rest/v1/", headers=anon(config)) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        for answer in answers:
            assert all(name in answer.headers for name in RATE_HEADERS)
        assert [a.headers["RateLimit-Remaining"] for a in answers] == ["2", "1", "0", "0"]
        refused = answers[-1]
        assert refused.headers["RateLimit-Limit"] == "3"
        assert int(refused.headers["Retry-After"]) >= 1
        assert "retry-after" not in answers[0].headers
        body = refused.json
        assert set(body) == {"code", "message", "details", "hint"}
        assert body["code"] == "MOBO429"
        time.sleep(1.05)  # an interval is 1 s
        assert client.simulate_get("/rest/v1/", headers=anon(config)).status_code == 200


def test_auth_paths_have_their_own_strict_buckets_and_gotrue_bodies(home: Path, keys: Keys) -> None:
    config = limited(home, keys, auth_ip="2/1m", default_ip="")
    version = {"X-Supabase-Api-Version": "2024-01-01"}
    with app_client(config) as (client, _):
        token = [
            client.simulate_post(
                "/auth/v1/token",
                params={"grant_type": "password"},
                json={"email": "a@example.com", "password": "nope-nope"},
                headers=anon(config, **version),
            )
            for _ in range(3)
        ]
        assert [t.status_code for t in token][-1] == 429
        assert token[0].status_code != 429
        body = token[-1].json
        assert body["code"] == "over_request_rate_limit"  # what auth-js reads
        assert body["message"] and "details" in body and "hint" in body
        assert token[-1].headers["X-Supabase-Api-Version"] == "2024-01-01"
        legacy = client.simulate_post(
            "/auth/v1/token", params={"grant_type": "password"}, json={}, headers=anon(config)
        )
        assert legacy.status_code == 429 and legacy.json["error_code"] == "over_request_rate_limit"
        # /signup has a bucket of its own; /settings is not an auth-group path
        signup = client.simulate_post("/auth/v1/signup", json={}, headers=anon(config))
        assert signup.status_code != 429
        assert client.simulate_get("/auth/v1/settings", headers=anon(config)).status_code == 200


def test_per_ip_buckets_are_separate(home: Path, keys: Keys) -> None:
    config = limited(home, keys, rest_ip="1/1m", rest_key="")
    with app_client(config) as (client, _):

        def get(ip: str) -> int:
            return client.simulate_get(
                "/rest/v1/", headers=anon(config), remote_addr=ip
            ).status_code

        assert [get("198.51.100.1"), get("198.51.100.1"), get("198.51.100.2")] == [200, 429, 200]


def test_per_key_buckets_follow_the_key_not_the_ip(home: Path, keys: Keys) -> None:
    config = limited(home, keys, rest_ip="", rest_key="2/1m", exempt_service_role=False)
    with app_client(config) as (client, _):
        codes = [
            client.simulate_get("/rest/v1/", headers=anon(config), remote_addr=f"198.51.100.{n}")
            for n in range(3)
        ]
        assert [c.status_code for c in codes] == [200, 200, 429]
        assert "per key" in codes[-1].json["details"]
        # another key (the service role) has its own bucket
        other = client.simulate_get(
            "/rest/v1/", headers=service(config), remote_addr="198.51.100.9"
        )
        assert other.status_code == 200


def test_the_service_role_is_exempt_by_default(home: Path, keys: Keys) -> None:
    config = limited(home, keys, rest_ip="1/1m", rest_key="1/1m")
    with app_client(config) as (client, _):
        codes = {
            client.simulate_get("/rest/v1/", headers=service(config)).status_code for _ in range(5)
        }
        assert codes == {200}


def test_invalid_credentials_are_limited_per_ip_only(home: Path, keys: Keys) -> None:
    config = limited(home, keys, rest_ip="2/1m", rest_key="1/1m")
    with app_client(config) as (client, _):
        bad = {"apikey": "not-a-jwt"}
        codes = [client.simulate_get("/rest/v1/", headers=bad).status_code for _ in range(3)]
        assert codes == [401, 401, 429]


def test_trusted_proxy_forwarded_address_is_the_client(home: Path, keys: Keys) -> None:
    config = make_board(
        home, keys, gateway={"trusted_proxies": ["10.9.9.9"]}, rate_limit={"rest_ip": "1/1m"}
    )
    with app_client(config) as (client, _):

        def via_proxy(client_addr: str) -> int:
            headers = anon(config, **{"X-Forwarded-For": client_addr})
            return client.simulate_get(
                "/rest/v1/", headers=headers, remote_addr="10.9.9.9"
            ).status_code

        assert [
            via_proxy("198.51.100.1"),
            via_proxy("198.51.100.2"),
            via_proxy("198.51.100.1"),
        ] == [
            200,
            200,
            429,
        ]

        # an untrusted peer cannot pick its bucket with the header
        def direct(spoofed: str) -> int:
            headers = anon(config, **{"X-Forwarded-For": spoofed})
            return client.simulate_get(
                "/rest/v1/", headers=headers, remote_addr="203.0.113.5"
            ).status_code

        assert [direct("198.51.100.50"), direct("198.51.100.51")] == [200, 429]


def test_health_and_preflights_are_never_limited(home: Path, keys: Keys) -> None:
    config = limited(home, keys, default_ip="1/1m", rest_ip="1/1m")
    preflight = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"}
    with app_client(config) as (client, _):
        assert {client.simulate_get("/health").status_code for _ in range(3)} <= {200}
        codes = {
            client.simulate_options("/rest/v1/t", headers=preflight).status_code for _ in range(3)
        }
        assert codes == {204}


def test_limits_can_be_switched_off(home: Path, keys: Keys) -> None:
    config = limited(home, keys, enabled=False, rest_ip="1/1m")
    with app_client(config) as (client, _):
        answers = [client.simulate_get("/rest/v1/", headers=anon(config)) for _ in range(3)]
        assert {a.status_code for a in answers} == {200}
        assert "ratelimit-limit" not in answers[0].headers


def test_redis_down_fails_open_and_counts(home: Path, keys: Keys) -> None:
    """Regression guard: a dead Redis must never turn requests into 500s or 429s."""
    config = limited(home, keys, rest_ip="1/1m")
    with app_client(config, redis_url="redis://127.0.0.1:1/0") as (client, services):
        started = time.perf_counter()
        answers = [client.simulate_get("/rest/v1/", headers=anon(config)) for _ in range(5)]
        assert {a.status_code for a in answers} == {200}
        assert "ratelimit-limit" not in answers[0].headers
        assert time.perf_counter() - started < 3
        assert services.platform is not None
        assert services.platform.metrics.scalars["limiter_failures"] == 5
        metrics = client.simulate_get("/metrics", headers=service(config))
        assert metrics.status_code == 200
        assert "mobo_gateway_rate_limit_failures_total 5" in metrics.text


def test_post_names_a_bad_rate_before_the_gateway_starts(tmp_path: Path, keys: Keys) -> None:
    from components.gateway import settings_check

    check = settings_check(limited(tmp_path / "bad", keys, auth_ip="5/1w"))
    assert not check.ok and "rate_limit.auth_ip" in check.detail and check.hint
    assert settings_check(make_board(tmp_path / "good", keys)).ok
