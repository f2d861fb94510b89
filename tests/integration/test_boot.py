"""Boot and shutdown of real boards: failures are clear, nothing is left behind."""

from __future__ import annotations

import json
import socket
import time

import psutil
import pytest
import redis

from mobo.kernel.boot import STAGES
from mobo.kernel.config import load_config
from mobo.kernel.keys import Keys
from tests.conftest import REDIS_URL, free_port
from tests.integration.conftest import BoardHome, make_home, teardown, wait_for

pytestmark = pytest.mark.integration


def assert_clean_failure(proc, *needles: str) -> None:  # type: ignore[no-untyped-def]
    assert proc.returncode != 0
    for needle in needles:
        assert needle in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout


def test_bad_config_makes_boot_fail_naming_the_key(board_home: BoardHome) -> None:
    path = board_home.home / "mobo.toml"
    path.write_text(path.read_text().replace("workers = 2", "workers = 0"))
    proc = board_home.mobo("boot", check=False)
    assert_clean_failure(proc, "gateway.workers", "1 to 64")
    assert board_home.board_pids() == set()


def test_bad_env_override_makes_boot_fail_naming_the_variable(board_home: BoardHome) -> None:
    proc = board_home.mobo("boot", check=False, env={"MOBO_GATEWAY_PORT": "http"})
    assert_clean_failure(proc, "MOBO_GATEWAY_PORT", "'http'")


def test_unreachable_redis_fails_post_with_a_clear_message(board_home: BoardHome) -> None:
    url = f"redis://127.0.0.1:{free_port()}/0"
    proc = board_home.mobo("boot", check=False, env={"MOBO_REDIS_URL": url})
    assert_clean_failure(proc, "redis reachable", "does not answer", "hint")
    assert board_home.board_pids() == set()


def test_taken_port_fails_post_naming_the_port(board_home: BoardHome) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", board_home.port))
        sock.listen()
        proc = board_home.mobo("boot", check=False)
    assert_clean_failure(proc, f"port 127.0.0.1:{board_home.port}", "MOBO_GATEWAY_PORT")


def test_missing_home_says_to_run_init(tmp_path) -> None:  # type: ignore[no-untyped-def]
    board = BoardHome(tmp_path, 0, {"MOBO_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"})
    proc = board.mobo("status", check=False)
    assert_clean_failure(proc, "mobo init")


def test_private_redis_board_boots_and_shuts_down_to_nothing() -> None:
    board = make_home({"MOBO_REDIS_URL": "private"})
    try:
        board.mobo("boot")
        cards = {c["name"]: c for c in board.status()["cards"]}
        assert all(cards[n]["state"] == "running" for n in ("redis", "gateway", "worker"))
        assert cards["redis"]["url"].startswith("unix://")
        pids = board.board_pids()
        assert any("redis-server" in " ".join(psutil.Process(p).cmdline()) for p in pids)
        assert len(pids) >= 6  # supervisord, 3 cards, redis-server, gunicorn workers
        out = board.mobo("shutdown").stdout
        assert out.index("worker") < out.index("redis")  # reverse dependency order
        time.sleep(0.2)
        alive = [
            p
            for p in pids
            if psutil.pid_exists(p) and psutil.Process(p).status() != psutil.STATUS_ZOMBIE
        ]
        assert alive == []
        assert board.status()["board"]["state"] == "off"
    finally:
        teardown(board)


def test_shutdown_leaves_no_process_of_the_board(board_home: BoardHome) -> None:
    board_home.mobo("boot")
    pids = board_home.board_pids()
    assert len(pids) >= 4
    board_home.mobo("shutdown")
    wait_for(lambda: not [p for p in pids if psutil.pid_exists(p)], timeout=10)
    proc = board_home.mobo("shutdown")
    assert "not running" in proc.stdout


def test_two_boards_share_one_redis_without_seeing_each_other() -> None:
    first, second = make_home(), make_home()
    try:
        first.mobo("boot")
        second.mobo("boot")
        a = first.mobo("events:tail", "*", "-n", "100", "--json").stdout
        b_id = second.status()["board"]["id"]
        assert b_id not in a
        assert first.card("gateway")["url"] != second.card("gateway")["url"]
    finally:
        teardown(first)
        teardown(second)


def test_foreground_boot_stays_attached_and_stops_on_sigterm(board_home: BoardHome) -> None:
    import signal
    import subprocess
    import sys

    proc = subprocess.Popen(
        [sys.executable, "-m", "mobo", "boot", "--foreground"],
        env=board_home.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: board_home.card("gateway")["state"] == "running", timeout=30)
        pids = board_home.board_pids()
        assert proc.poll() is None  # still attached
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        wait_for(lambda: not [p for p in pids if psutil.pid_exists(p)], timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_corrupt_state_file_never_blocks_a_boot(board_home: BoardHome) -> None:
    state = board_home.home / ".mobo" / "state.json"
    state.write_text('{"system": {"state": "rea')  # truncated mid-write
    board_home.mobo("boot")
    assert board_home.status()["board"]["state"] == "ready"
    assert list(state.parent.glob("state.json.corrupt-*"))


def board_events(board: BoardHome) -> list[dict]:
    """Every event in the board's history stream, oldest first."""
    config = load_config(board.home, environ={})
    client = redis.Redis.from_url(REDIS_URL)
    try:
        entries = client.xrange(Keys(config.namespace).history)
    finally:
        client.close()
    return [json.loads(fields[b"e"]) for _, fields in entries]


def test_a_boot_announces_its_stages_and_each_card_starting(board_home: BoardHome) -> None:
    board_home.mobo("boot")
    events = board_events(board_home)
    types = [e["type"] for e in events]
    assert types[0] == "system.booting"
    assert events[0]["data"]["stages"][0] == "pre-boot"
    stages = [e["data"] for e in events if e["type"] == "boot.stage_completed"]
    assert [s["stage"] for s in stages] == list(STAGES)
    assert all(s["ms"] >= 0 for s in stages)
    starting = {e["data"]["card"] for e in events if e["type"] == "component.starting"}
    assert {"gateway", "worker"} <= starting
    assert types.index("system.booting") < types.index("system.ready")
    assert "boot.failed" not in types


def test_a_failed_post_check_is_announced(board_home: BoardHome) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", board_home.port))
        sock.listen()
        board_home.mobo("boot", check=False)
    failed = [e["data"] for e in board_events(board_home) if e["type"] == "boot.failed"]
    assert len(failed) == 1
    assert failed[0]["stage"] == "POST"
    assert str(board_home.port) in failed[0]["check"] + failed[0]["message"]
