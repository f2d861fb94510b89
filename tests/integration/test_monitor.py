"""The health monitor on real boards: hung cards are healed, crash loops end in
system.critical, a Redis outage heals by itself, and `mobo monitor` draws it live."""

from __future__ import annotations

import itertools
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from tests.conftest import free_port
from tests.integration.conftest import BoardHome, make_home, teardown, wait_for
from tests.integration.test_board import healthy

pytestmark = pytest.mark.integration

FAST_HEALTH = """
[health]
interval = 0.5
timeout = 1
retries = 0
failure_threshold = 2
recovery_threshold = 2
heartbeat = 0.3
restart_base = 4
restart_factor = 3
restart_max = 3
"""
CARDS = str(Path(__file__).resolve().parents[1] / "cards")


def fast_board(extra_env: dict[str, str] | None = None) -> BoardHome:
    board = make_home({"MOBO_CARD_PATH": CARDS, **(extra_env or {})})
    config = board.home / "mobo.toml"
    text = config.read_text().replace("unplugged = []", 'unplugged = ["example", "flaky"]')
    config.write_text(text + FAST_HEALTH)
    return board


@pytest.fixture(scope="module")
def monitored() -> Iterator[BoardHome]:
    board = fast_board()
    board.mobo("boot")
    yield board
    teardown(board)


def events(board: BoardHome, pattern: str, count: int = 200) -> list[dict]:
    out = board.mobo("events:tail", pattern, "-n", str(count), "--json").stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def seen(board: BoardHome, type_: str, card: str, after: float) -> list[dict]:
    return [
        e
        for e in events(board, type_)
        if e["data"].get("card") == card
        and e["time"] > time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(after))
    ]


@pytest.mark.parametrize("card", ["gateway", "worker"])
def test_a_stopped_process_is_detected_and_restarted(monitored: BoardHome, card: str) -> None:
    wait_for(lambda: monitored.card(card)["health"] == "healthy", timeout=20)
    old = monitored.card(card)["pid"]
    start = time.time() - 1
    os.kill(old, signal.SIGSTOP)
    try:
        # interval x threshold = 1 s to notice, plus the heartbeat's staleness allowance
        wait_for(lambda: seen(monitored, "health.failed", card, start), timeout=20)
        wait_for(lambda: seen(monitored, "component.restarted", card, start), timeout=10)
        wait_for(lambda: seen(monitored, "health.recovered", card, start), timeout=30)
    finally:
        if psutil.pid_exists(old):
            os.kill(old, signal.SIGCONT)
    # health.recovered comes from the monitor's probe; the card reports itself running
    # when its new process is ready, which on a loaded machine may come a moment later
    wait_for(lambda: monitored.card(card)["state"] == "running", timeout=20)
    assert monitored.card(card)["pid"] != old
    if card == "gateway":
        wait_for(lambda: healthy(monitored.url), timeout=10)


def test_health_check_and_report_commands(monitored: BoardHome) -> None:
    wait_for(lambda: monitored.mobo("health:check", check=False).returncode == 0, timeout=30)
    rows = json.loads(monitored.mobo("health:check", "--json").stdout)
    assert {r["card"] for r in rows} >= {"gateway", "worker", "redis"}
    assert all(r["ok"] for r in rows)
    report = json.loads(monitored.mobo("health:report", "--json").stdout)
    assert report["source"] == "redis"
    assert report["cards"]["gateway"]["state"] in ("healthy", "recovering")
    system = report["system"]
    assert system["memory"]["total_mb"] > 0 and len(system["load"]) == 3
    assert system["cards"]["gateway"]["rss_mb"] > 0


def test_health_check_of_a_stopped_card_exits_non_zero(monitored: BoardHome) -> None:
    proc = monitored.mobo("health:check", "nosuchcard", check=False)
    assert proc.returncode == 1 and "known cards" in proc.stderr


def test_a_card_failing_forever_is_left_stopped_with_system_critical(monitored: BoardHome) -> None:
    start = time.time() - 1
    gateway = monitored.card("gateway")["pid"]
    monitored.mobo("plug", "flaky", check=False)  # its first start fails; the monitor takes over
    critical = wait_for(lambda: seen(monitored, "system.critical", "flaky", start), timeout=120)
    assert "gave up after 3 restarts" in critical[0]["data"]["reason"]
    restarts = [e for e in seen(monitored, "component.restarted", "flaky", start)]
    assert [e["data"]["attempt"] for e in restarts] == [1, 2, 3]
    stamps = [
        time.mktime(time.strptime(e["time"][:19], "%Y-%m-%dT%H:%M:%S"))
        + float("0." + e["time"][20:26])
        for e in restarts
    ]
    backoffs = [e["data"]["backoff_s"] for e in restarts]
    assert backoffs == [0.0, 4.0, 12.0]  # restart_base 4, restart_factor 3
    gaps = [b - a for a, b in itertools.pairwise(stamps)]
    # each restart waited at least its backoff (on top of the card failing again, whose
    # time depends on the machine's load, so gaps are not compared with each other)
    assert all(gap >= wait - 0.5 for gap, wait in zip(gaps, backoffs[1:], strict=True))
    card = monitored.card("flaky")
    assert card["state"] == "failed" and "gave up" in card["detail"]
    assert monitored.card("gateway")["pid"] == gateway  # others untouched
    monitored.mobo("unplug", "flaky")


def test_redis_outage_heals_by_itself(tmp_path: Path) -> None:
    port = free_port()
    server = [
        shutil.which("redis-server"),
        "--port",
        str(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        str(tmp_path),
    ]

    def start_redis() -> subprocess.Popen:
        proc = subprocess.Popen(server, stdout=subprocess.DEVNULL)
        wait_for(lambda: _ping(port), timeout=10)
        return proc

    redis_proc = start_redis()
    board = fast_board({"MOBO_REDIS_URL": f"redis://127.0.0.1:{port}/0"})
    try:
        board.mobo("boot")
        wait_for(lambda: board.card("gateway")["health"] == "healthy", timeout=20)
        redis_proc.terminate()
        redis_proc.wait(10)
        for _ in range(6):  # the gateway keeps answering, reporting the bus down
            status, body = _health(board)
            assert status == 200 and body["bus"] == "unreachable"
            time.sleep(0.5)
        redis_proc = start_redis()
        wait_for(lambda: _health(board)[1].get("bus") == "ok", timeout=20)
        # healthy again within two intervals once heartbeats resume (allow for slack)
        wait_for(
            lambda: all(
                board.card(n)["health"] == "healthy" for n in ("gateway", "worker", "monitor")
            ),
            timeout=30,
        )
        states = {c["name"]: c["state"] for c in board.status()["cards"]}
        assert "failed" not in states.values() and "backoff" not in states.values()
    finally:
        teardown(board)
        redis_proc.kill()


def test_monitor_dashboard_shows_a_state_change(monitored: BoardHome) -> None:
    pexpect = pytest.importorskip("pexpect")
    wait_for(lambda: monitored.card("worker")["state"] == "running", timeout=30)
    child = pexpect.spawn(
        sys.executable,
        ["-m", "mobo", "monitor"],
        env=monitored.env,
        dimensions=(50, 160),
        encoding="utf-8",
        timeout=20,
    )
    try:
        child.expect("bus: connected")
        child.expect("worker")
        monitored.mobo("component:stop", "worker")
        child.expect("component.stopped")
        child.expect("stopped")
    finally:
        child.sendintr()
        child.close(force=True)
        monitored.mobo("component:start", "worker")


def _ping(port: int) -> bool:
    import redis

    try:
        return redis.Redis(port=port, socket_connect_timeout=0.2).ping()
    except redis.RedisError:
        return False


def _health(board: BoardHome) -> tuple[int, dict]:
    import urllib.request

    try:  # a generous timeout: this asserts an answer, not its speed (CI machines are busy)
        with urllib.request.urlopen(board.url + "/health", timeout=15) as resp:
            return resp.status, json.loads(resp.read())
    except OSError:
        return 0, {}
