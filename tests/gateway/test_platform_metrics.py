"""`/metrics`: Prometheus text that parses, summed over workers, and protected."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from components.gateway import names
from components.gateway.platform.metrics import Metrics, merge, render
from mobo.kernel.keys import Keys
from tests.gateway.platform_support import anon, app_client, make_board, service

LABELS = r'(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\.)*",?)*\})?'
VALUE = r"(-?[0-9]+(\.[0-9]+)?(e[+-]?[0-9]+)?|[+-]Inf|NaN)"
SAMPLE = re.compile(rf"^[a-zA-Z_:][a-zA-Z0-9_:]*{LABELS} {VALUE}$")


def families(text: str) -> dict[str, object]:
    return {f.name: f for f in text_string_to_metric_families(text)}


def sample(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
    raise AssertionError(f"no sample {name} {labels}")


def test_metrics_parse_and_count_requests(home: Path, keys: Keys) -> None:
    config = make_board(home, keys, rate_limit={"rest_ip": "2/1m"})
    with app_client(config) as (client, _):
        for _ in range(3):
            client.simulate_get("/rest/v1/", headers=anon(config))
        client.simulate_get("/nowhere")
        client.simulate_options(
            "/rest/v1/t",
            headers={"Origin": "https://a.example", "Access-Control-Request-Method": "GET"},
        )
        answer = client.simulate_get("/metrics", headers=service(config))
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = answer.text
    for line in text.splitlines():
        assert line.startswith("# ") or SAMPLE.match(line), line
    found = families(text)
    assert {
        "mobo_gateway_requests",
        "mobo_gateway_request_duration_seconds",
        "mobo_gateway_rate_limited",
        "mobo_gateway_requests_in_flight",
        "mobo_gateway_events_dropped",
        "mobo_gateway_events_sent",
        "mobo_gateway_rate_limit_failures",
        "mobo_gateway_workers",
    } <= set(found)
    total = "mobo_gateway_requests_total"
    assert sample(text, total, method="GET", route="/rest/v1/", status="200") == 2
    assert sample(text, total, method="GET", route="/rest/v1/", status="429") == 1
    assert sample(text, total, route="(unmatched)", status="404") == 1
    assert sample(text, total, method="OPTIONS", route="(preflight)", status="204") == 1
    assert sample(text, "mobo_gateway_rate_limited_total", group="rest") == 1
    hist = "mobo_gateway_request_duration_seconds"
    assert sample(text, f"{hist}_count", route="/rest/v1/") == 3
    assert sample(text, f"{hist}_bucket", route="/rest/v1/", le="+Inf") == 3
    assert sample(text, "mobo_gateway_requests_in_flight") == 1  # this very request


def test_metrics_need_the_service_role_by_default(home: Path, keys: Keys) -> None:
    config = make_board(home, keys)
    with app_client(config) as (client, _):
        assert client.simulate_get("/metrics").status_code == 401
        assert client.simulate_get("/metrics", headers=anon(config)).status_code == 401
        bearer = {"Authorization": f"Bearer {config.secrets.service_role_key}"}
        assert client.simulate_get("/metrics", headers=bearer).status_code == 200


@pytest.mark.parametrize(
    ("mode", "local", "remote", "remote_with_key"),
    [
        ("loopback", 200, 401, 200),
        ("public", 200, 200, 200),
        ("off", 404, 404, 404),
    ],
)
def test_metrics_access_modes(
    home: Path, keys: Keys, mode: str, local: int, remote: int, remote_with_key: int
) -> None:
    config = make_board(home, keys, gateway={"metrics": mode})
    with app_client(config) as (client, _):
        got = (
            client.simulate_get("/metrics", remote_addr="127.0.0.1").status_code,
            client.simulate_get("/metrics", remote_addr="198.51.100.8").status_code,
            client.simulate_get(
                "/metrics", remote_addr="198.51.100.8", headers=service(config)
            ).status_code,
        )
    assert got == (local, remote, remote_with_key)


def test_loopback_mode_is_not_fooled_by_a_forwarded_header(home: Path, keys: Keys) -> None:
    config = make_board(home, keys, gateway={"metrics": "loopback"})
    with app_client(config) as (client, _):
        proxied = client.simulate_get(
            "/metrics", remote_addr="127.0.0.1", headers={"X-Forwarded-For": "198.51.100.8"}
        )
    assert proxied.status_code == 401  # a request through a local proxy is not local


def test_metrics_sum_the_workers_of_the_board(home: Path, keys: Keys) -> None:
    config = make_board(home, keys, rate_limit={"enabled": False})
    with app_client(config) as (one, s1), app_client(config) as (two, _):
        for _ in range(4):
            one.simulate_get("/nowhere")
        assert s1.platform is not None
        s1.platform.reporter.flush()  # the snapshot a worker stores every second
        text = two.simulate_get("/metrics", headers=service(config)).text
    assert sample(text, "mobo_gateway_requests_total", route="(unmatched)") == 4
    assert sample(text, "mobo_gateway_workers") == 2


def test_stale_worker_snapshots_are_dropped(home: Path, keys: Keys, redis_client) -> None:  # type: ignore[no-untyped-def]
    config = make_board(home, keys)
    redis_client.hset(
        names.metrics(keys), "gone:1:x", '{"at": 1, "requests": [["GET", "/x", 200, 9]]}'
    )
    redis_client.hset(names.metrics(keys), "junk:2:y", "not json")
    with app_client(config) as (client, _):
        text = client.simulate_get("/metrics", headers=service(config)).text
    assert 'route="/x"' not in text
    assert redis_client.hkeys(names.metrics(keys)) == [] or all(
        k not in (b"gone:1:x", b"junk:2:y") for k in redis_client.hkeys(names.metrics(keys))
    )


def test_render_escapes_labels_and_merge_adds_up() -> None:
    m = Metrics()
    m.enter()
    m.observe("GET", 'a"b\\c', 200, 0.003)
    merged = merge([m.snapshot(), m.snapshot()])
    text = render(merged)
    assert sample(text, "mobo_gateway_requests_total", route='a"b\\c') == 2
    assert sample(text, "mobo_gateway_request_duration_seconds_bucket", le="0.005") == 2
    assert sample(text, "mobo_gateway_request_duration_seconds_bucket", le="0.0025") == 0
    assert time.time() > 0
