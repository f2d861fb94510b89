"""CORS: preflights answered before auth, allowed origins, exposed headers."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.gateway.platform.cors import CorsPolicy
from mobo.exceptions import ConfigError
from mobo.kernel.keys import Keys
from tests.gateway.platform_support import anon, app_client, make_board

SUPABASE_HEADERS = (
    "apikey, authorization, content-type, prefer, range, accept-profile, content-profile, "
    "x-client-info, x-supabase-api-version"
)


def preflight(origin: str, method: str = "POST", headers: str = SUPABASE_HEADERS) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": method,
        "Access-Control-Request-Headers": headers,
    }


def test_default_allows_any_origin_and_answers_preflight_without_credentials(
    home: Path, keys: Keys
) -> None:
    config = make_board(home, keys)
    with app_client(config) as (client, _):
        answer = client.simulate_options("/rest/v1/todos", headers=preflight("https://app.example"))
    assert answer.status_code == 204
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert "PATCH" in answer.headers["Access-Control-Allow-Methods"]
    allowed = {h.strip() for h in answer.headers["Access-Control-Allow-Headers"].split(",")}
    assert {h.strip() for h in SUPABASE_HEADERS.split(",")} <= allowed
    assert answer.headers["Access-Control-Max-Age"] == "86400"
    assert answer.content == b""


def test_preflight_reflects_extra_well_formed_headers_only(home: Path, keys: Keys) -> None:
    config = make_board(home, keys)
    with app_client(config) as (client, _):
        answer = client.simulate_options(
            "/auth/v1/token", headers=preflight("https://a.example", headers="x-custom, bad header")
        )
    allowed = answer.headers["Access-Control-Allow-Headers"]
    assert "x-custom" in allowed and "bad header" not in allowed


def test_listed_origins_are_echoed_with_vary(home: Path, keys: Keys) -> None:
    config = make_board(
        home,
        keys,
        gateway={
            "cors_origins": ["https://app.example.com", "https://*.example.org"],
            "cors_max_age": 600,
        },
    )
    with app_client(config) as (client, _):
        ok = client.simulate_options("/rest/v1/t", headers=preflight("https://app.example.com"))
        assert ok.status_code == 204
        assert ok.headers["Access-Control-Allow-Origin"] == "https://app.example.com"
        assert ok.headers["Access-Control-Max-Age"] == "600"
        assert "Origin" in ok.headers["Vary"]
        sub = client.simulate_options("/rest/v1/t", headers=preflight("https://shop.example.org"))
        assert sub.headers["Access-Control-Allow-Origin"] == "https://shop.example.org"
        refused = client.simulate_options("/rest/v1/t", headers=preflight("https://evil.example"))
        assert refused.status_code == 403
        assert "access-control-allow-origin" not in refused.headers
        assert refused.json["code"] == "MOBO403" and "cors_origins" in refused.json["hint"]
        simple = client.simulate_get(
            "/rest/v1/", headers=anon(config, Origin="https://evil.example")
        )
        assert simple.status_code == 200 and "access-control-allow-origin" not in simple.headers


def test_simple_requests_get_origin_and_exposed_headers_even_on_errors(
    home: Path, keys: Keys
) -> None:
    config = make_board(home, keys, rate_limit={"rest_ip": "1/1m"})
    origin = {"Origin": "https://app.example"}
    with app_client(config) as (client, _):
        ok = client.simulate_get("/rest/v1/", headers=anon(config, **origin))
        limited = client.simulate_get("/rest/v1/", headers=anon(config, **origin))
        unauthorized = client.simulate_get("/rest/v1/", headers=origin, remote_addr="198.51.100.3")
    assert (ok.status_code, limited.status_code, unauthorized.status_code) == (200, 429, 401)
    for answer in (ok, limited, unauthorized):
        assert answer.headers["Access-Control-Allow-Origin"] == "*"
        exposed = answer.headers["Access-Control-Expose-Headers"]
        for name in (
            "Content-Range",
            "Preference-Applied",
            "Location",
            "RateLimit-Remaining",
            "Retry-After",
        ):
            assert name in exposed


def test_preflight_comes_before_auth(home: Path, keys: Keys) -> None:
    """A browser's preflight carries no apikey: it must not be refused as unauthenticated."""
    config = make_board(home, keys)
    with app_client(config) as (client, _):
        answer = client.simulate_options(
            "/auth/v1/admin/users", headers=preflight("https://a.example")
        )
    assert answer.status_code == 204


def test_plain_options_is_left_to_the_resource(home: Path, keys: Keys) -> None:
    config = make_board(home, keys)
    with app_client(config) as (client, _):
        answer = client.simulate_options("/health", headers={"Origin": "https://a.example"})
    assert answer.status_code == 200
    assert "access-control-allow-methods" not in answer.headers


@pytest.mark.parametrize("origin", ["app.example.com", "https://a.example/path", "ftp://x"])
def test_a_bad_origin_in_config_is_refused(home: Path, keys: Keys, origin: str) -> None:
    config = make_board(home, keys, gateway={"cors_origins": [origin]})
    with pytest.raises(ConfigError, match="cors_origins"):
        with app_client(config):
            pass


def test_policy_matching() -> None:
    policy = CorsPolicy(("https://a.example", "https://*.b.example"), 0)
    assert policy.allow_origin("https://a.example") == "https://a.example"
    assert policy.allow_origin("HTTPS://A.EXAMPLE") == "HTTPS://A.EXAMPLE"
    assert policy.allow_origin("https://x.b.example") == "https://x.b.example"
    assert policy.allow_origin("https://b.example") is None
    assert policy.allow_origin("http://a.example") is None
