"""A real board: supervisord, gunicorn, an RQ worker, driven by the `mobo` CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading
import urllib.error
import urllib.request

import psutil
import pytest
import redis
from rq import Queue

from tests.integration.conftest import BoardHome, wait_for

pytestmark = pytest.mark.integration


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def healthy(url: str) -> bool:
    try:
        return get(url + "/health")[0] == 200
    except OSError:
        return False


def test_health_answers(booted: BoardHome) -> None:
    status, body = get(booted.url + "/health")
    assert status == 200
    assert body["status"] == "ok" and body["bus"] == "ok"


def test_status_json_lists_every_card_running(booted: BoardHome) -> None:
    report = booted.status()
    assert report["board"]["state"] == "ready"
    cards = {c["name"]: c for c in report["cards"]}
    for name in ("gateway", "worker"):
        assert cards[name]["state"] == "running", cards[name]
        assert cards[name]["health"] in ("healthy", "unknown")
        assert psutil.pid_exists(cards[name]["pid"])
        assert {"name", "state", "pid", "health", "url"} <= cards[name].keys()
    assert cards["gateway"]["url"] == booted.url
    assert cards["redis"]["state"] == "idle"  # the local Redis answered; no private one


def test_supervisorctl_shows_the_same_board(booted: BoardHome) -> None:
    out = subprocess.run(
        [
            os.path.join(os.path.dirname(os.sys.executable), "supervisorctl"),
            "-c",
            str(booted.home / "supervisord.conf"),
            "status",
        ],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    ).stdout
    gateway_pid = booted.card("gateway")["pid"]
    assert f"pid {gateway_pid}" in out
    assert "worker" in out and "RUNNING" in out


def test_v1_status_needs_the_service_key(booted: BoardHome) -> None:
    status, body = get(booted.url + "/v1/status")
    assert status == 401
    assert body["code"] == "PGRST301" and body["hint"]
    keys = json.loads(booted.mobo("keys:list", "--json").stdout)
    service = next(k["key"] for k in keys if k["role"] == "service_role")
    status, body = get(booted.url + "/v1/status", {"apikey": service})
    assert status == 200
    assert {c["name"] for c in body["cards"]} >= {"gateway", "worker"}


def test_unknown_route_gets_the_json_error_body(booted: BoardHome) -> None:
    status, body = get(booted.url + "/nowhere")
    assert status == 404
    assert set(body) == {"code", "message", "details", "hint"}


def test_system_ready_is_on_the_bus(booted: BoardHome) -> None:
    out = booted.mobo("events:tail", "system.*", "-n", "50", "--json").stdout
    types = [json.loads(line)["type"] for line in out.splitlines() if line.strip()]
    assert "system.ready" in types


def test_logs_are_json_lines_per_card(booted: BoardHome) -> None:
    for line in (booted.home / ".mobo" / "logs" / "kernel.log").read_text().splitlines():
        record = json.loads(line)
        assert {"time", "level", "card", "pid", "event"} <= record.keys()
    out = booted.mobo("logs", "kernel", "-n", "5").stdout
    assert "board ready" in out


def test_worker_runs_a_job_from_the_boards_queue(booted: BoardHome) -> None:
    board_id = booted.status()["board"]["id"]
    conn = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    job = Queue(f"mobo:{board_id}:default", connection=conn).enqueue(
        "components.worker.jobs.echo", "pong"
    )
    wait_for(lambda: job.get_status(refresh=True) == "finished", timeout=30)
    assert job.return_value() == "pong"


def test_booting_a_running_board_is_harmless(booted: BoardHome) -> None:
    pid = booted.card("gateway")["pid"]
    out = booted.mobo("boot").stdout
    assert "already running" in out
    assert booted.card("gateway")["pid"] == pid


def test_kill_9_of_the_gateway_master_brings_it_back(booted: BoardHome) -> None:
    old = booted.card("gateway")["pid"]
    orphans = [p.pid for p in psutil.Process(old).children()]
    os.kill(old, signal.SIGKILL)

    def back() -> bool:
        card = booted.card("gateway")
        return card["state"] == "running" and card["pid"] not in (None, old)

    wait_for(back, timeout=30, interval=0.2)
    wait_for(lambda: healthy(booted.url), timeout=20)
    # the old master's workers notice their parent is gone and exit by themselves
    wait_for(lambda: not [p for p in orphans if psutil.pid_exists(p)], timeout=20)


def test_unplug_and_plug_a_leaf_while_the_gateway_answers(booted: BoardHome) -> None:
    failures: list[str] = []
    stop = threading.Event()
    gateway_pid = booted.card("gateway")["pid"]

    def probe() -> None:
        while not stop.is_set():
            try:
                status, _ = get(booted.url + "/health")
                if status != 200:
                    failures.append(str(status))
            except OSError as exc:
                failures.append(str(exc))
            stop.wait(0.02)

    thread = threading.Thread(target=probe)
    thread.start()
    try:
        booted.mobo("unplug", "worker")
        assert booted.card("worker")["state"] == "unplugged"
        assert 'unplugged = ["worker"]' in (booted.home / "mobo.toml").read_text()
        booted.mobo("plug", "worker")
        assert booted.card("worker")["state"] == "running"
    finally:
        stop.set()
        thread.join()
    assert failures == []
    assert booted.card("gateway")["pid"] == gateway_pid  # not restarted


def test_unplugging_a_card_others_depend_on_is_refused(booted: BoardHome) -> None:
    proc = booted.mobo("unplug", "redis", check=False)
    assert proc.returncode == 1
    assert "gateway" in proc.stderr and "worker" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_component_stop_and_start(booted: BoardHome) -> None:
    booted.mobo("component:stop", "worker")
    assert booted.card("worker")["state"] == "stopped"
    booted.mobo("component:start", "worker")
    assert booted.card("worker")["state"] == "running"


def test_log_level_change_reaches_running_cards(booted: BoardHome) -> None:
    path = booted.home / "mobo.toml"
    path.write_text(path.read_text().replace('level = "info"', 'level = "debug"'))

    def reloaded() -> set[str]:
        out = booted.mobo("events:tail", "config.*", "-n", "20", "--json").stdout
        return {json.loads(line)["data"]["card"] for line in out.splitlines() if line}

    assert wait_for(lambda: {"gateway", "worker"} <= reloaded(), timeout=20)
    path.write_text(path.read_text().replace('level = "debug"', 'level = "info"'))


def test_a_stopped_dependency_marks_dependents_with_the_cause() -> None:
    from tests.integration.conftest import make_home, teardown

    board = make_home({"MOBO_REDIS_URL": "private"})
    try:
        board.mobo("boot")
        board.mobo("component:stop", "redis")
        cards = {c["name"]: c for c in board.status()["cards"]}
        assert cards["redis"]["state"] == "stopped"
        assert cards["gateway"]["health"] == "degraded"
        assert "redis is stopped" in cards["gateway"]["detail"]
        assert board.status()["board"]["state"] == "degraded"
    finally:
        teardown(board)
