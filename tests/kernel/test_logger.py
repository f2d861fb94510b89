"""The logger: JSON lines per card, rotation, redaction, and `mobo logs` reading."""

from __future__ import annotations

import json
import logging
import os
import re
import stat
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from mobo.exceptions import ComponentNotFound, ConfigError
from mobo.kernel.logger import (
    CardFileHandler,
    follow_logs,
    read_logs,
    set_level,
    setup_logging,
    shutdown_logging,
)

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiIxMjM0NTY3ODkwIiwicm9sZSI6ImFub24ifQ"
    ".SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c"
)
LOG = logging.getLogger("mobo.test")


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    level = root.level
    yield
    shutdown_logging()
    root.setLevel(level)


@pytest.fixture
def log_dir(home: Path) -> Path:
    return home / ".mobo" / "logs"


def lines_of(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def write_records(path: Path, records: list[tuple[str, str]], tail: str = "") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(json.dumps({"time": t, "event": e}) + "\n" for t, e in records)
    path.write_text(body + tail)


def wait_for(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


# --- writing -----------------------------------------------------------------------------


def test_a_record_is_one_json_line_with_the_documented_keys(log_dir: Path) -> None:
    setup_logging(log_dir, "gateway")
    LOG.info("served %s in %d ms", "/rest/v1/todos", 3, extra={"data": {"status": 200}})

    [line] = lines_of(log_dir / "gateway.log")
    assert list(line) == ["time", "level", "card", "pid", "logger", "event", "data"]
    assert TIME_RE.match(line["time"])
    assert line["level"] == "info"
    assert line["card"] == "gateway"
    assert line["pid"] == os.getpid()
    assert line["logger"] == "mobo.test"
    assert line["event"] == "served /rest/v1/todos in 3 ms"
    assert line["data"] == {"status": 200}


def test_an_exception_is_logged_with_its_traceback(log_dir: Path) -> None:
    setup_logging(log_dir, "worker")
    try:
        raise ValueError("boom\nsecond line")
    except ValueError:
        LOG.exception("job failed")

    [line] = lines_of(log_dir / "worker.log")
    assert line["level"] == "error"
    assert line["event"] == "job failed"
    assert "Traceback" in line["exc"]
    assert "ValueError: boom" in line["exc"]


def test_setup_twice_does_not_duplicate_lines(log_dir: Path) -> None:
    setup_logging(log_dir, "gateway")
    setup_logging(log_dir, "gateway")
    LOG.warning("once")

    assert [line["event"] for line in lines_of(log_dir / "gateway.log")] == ["once"]
    ours = [h for h in logging.getLogger().handlers if isinstance(h, CardFileHandler)]
    assert len(ours) == 1


def test_stream_copies_the_same_json_to_stderr(
    log_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    setup_logging(log_dir, "gateway", stream=True)
    LOG.info("hello")

    err_line = json.loads(capsys.readouterr().err.strip())
    assert err_line == lines_of(log_dir / "gateway.log")[0]


def test_level_filters_and_set_level_hot_reloads(log_dir: Path) -> None:
    setup_logging(log_dir, "gateway", level="warning")
    LOG.info("hidden")
    set_level("DEBUG")
    LOG.debug("shown")

    assert [line["event"] for line in lines_of(log_dir / "gateway.log")] == ["shown"]


@pytest.mark.parametrize(
    "call",
    [
        lambda d: setup_logging(d, "gateway", level="verbose"),
        lambda d: set_level("verbose"),
    ],
)
def test_a_bad_level_names_the_value_and_the_allowed_ones(
    log_dir: Path, call: Callable[[Path], None]
) -> None:
    with pytest.raises(ConfigError) as info:
        call(log_dir)
    assert "'verbose'" in str(info.value)
    assert "debug, info, warning, error, critical" in str(info.value)


def test_a_card_name_cannot_leave_the_log_dir(log_dir: Path) -> None:
    with pytest.raises(ComponentNotFound):
        setup_logging(log_dir, "../escape")
    with pytest.raises(ComponentNotFound):
        read_logs(log_dir, "../../etc/passwd", 5)


def test_log_dir_is_0700_and_files_0640_or_stricter(log_dir: Path) -> None:
    setup_logging(log_dir, "gateway", max_bytes=300, backups=2)
    for i in range(20):
        LOG.info("line %d", i)

    assert stat.S_IMODE(log_dir.stat().st_mode) == 0o700
    files = sorted(log_dir.iterdir())
    assert len(files) == 3
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) & ~0o640 == 0, path


def test_rotation_happens_at_max_bytes_and_keeps_backups(log_dir: Path) -> None:
    setup_logging(log_dir, "gateway", max_bytes=1000, backups=3)
    for i in range(200):
        LOG.info("line %03d", i)

    names = sorted(p.name for p in log_dir.iterdir())
    assert names == ["gateway.log", "gateway.log.1", "gateway.log.2", "gateway.log.3"]
    assert all(p.stat().st_size <= 1000 for p in log_dir.iterdir())
    assert lines_of(log_dir / "gateway.log")[-1]["event"] == "line 199"


# --- redaction ---------------------------------------------------------------------------


def test_secret_keys_in_data_are_redacted(log_dir: Path) -> None:
    setup_logging(log_dir, "gateway")
    data = {
        "user": "ada",
        "password": "hunter2",
        "Authorization": "opaque-credential",
        "headers": {"X-Api-Key": "sk_live_123", "apikey": "anon-456"},
        "tokens": [{"refresh_token": "rt-789"}],
        "jwtSecret": "s3cr3t",
        "keys": ["cache:a", "cache:b"],
    }
    LOG.info("login", extra={"data": data})

    text = (log_dir / "gateway.log").read_text()
    for secret in ("hunter2", "opaque-credential", "sk_live_123", "anon-456", "rt-789", "s3cr3t"):
        assert secret not in text
    logged = lines_of(log_dir / "gateway.log")[0]["data"]
    assert logged["user"] == "ada"
    assert logged["password"] == "[redacted]"
    assert logged["headers"] == {"X-Api-Key": "[redacted]", "apikey": "[redacted]"}
    assert logged["keys"] == ["cache:a", "cache:b"]  # a list of key names is not a secret


def test_jwt_looking_strings_are_redacted_everywhere(log_dir: Path) -> None:
    setup_logging(log_dir, "gateway")
    LOG.info("token %s accepted", JWT, extra={"data": {"note": f"got {JWT}", "list": [JWT]}})
    try:
        raise PermissionError(f"bad jwt {JWT}")
    except PermissionError:
        LOG.exception("auth failed for Bearer abc.def-secret")
    LOG.info("connecting to %s", "postgresql://app:pg-pass@db:5432/app")

    text = (log_dir / "gateway.log").read_text()
    assert JWT.split(".")[2] not in text
    assert "abc.def-secret" not in text
    assert "pg-pass" not in text
    first, second, third = lines_of(log_dir / "gateway.log")
    assert first["event"] == "token [redacted] accepted"
    assert first["data"] == {"note": "got [redacted]", "list": ["[redacted]"]}
    assert "PermissionError: bad jwt [redacted]" in second["exc"]
    assert second["event"] == "auth failed for Bearer [redacted]"
    assert third["event"] == "connecting to postgresql://app:[redacted]@db:5432/app"


def test_dotted_names_are_not_mistaken_for_jwts(log_dir: Path) -> None:
    setup_logging(log_dir, "gateway")
    LOG.info("loaded mobo.kernel.logger for component.started")

    [line] = lines_of(log_dir / "gateway.log")
    assert line["event"] == "loaded mobo.kernel.logger for component.started"


# --- reading -----------------------------------------------------------------------------


def test_read_logs_returns_the_last_n_of_one_card(log_dir: Path) -> None:
    setup_logging(log_dir, "gateway")
    for i in range(10):
        LOG.info("line %d", i)

    assert [r["event"] for r in read_logs(log_dir, "gateway", 3)] == ["line 7", "line 8", "line 9"]
    assert read_logs(log_dir, "gateway", 0) == []
    assert read_logs(log_dir, "nobody", 5) == []


def test_read_logs_merges_cards_by_time(log_dir: Path) -> None:
    write_records(
        log_dir / "a.log",
        [("2026-01-01T00:00:01.000000Z", "a1"), ("2026-01-01T00:00:03.000000Z", "a3")],
    )
    write_records(
        log_dir / "b.log",
        [("2026-01-01T00:00:02.000000Z", "b2"), ("2026-01-01T00:00:04.000000Z", "b4")],
    )

    assert [r["event"] for r in read_logs(log_dir, None, 3)] == ["b2", "a3", "b4"]
    assert [r["event"] for r in read_logs(log_dir, None, 10)] == ["a1", "b2", "a3", "b4"]


def test_read_logs_tolerates_a_truncated_last_line(log_dir: Path) -> None:
    write_records(
        log_dir / "a.log",
        [("2026-01-01T00:00:01.000000Z", "a1"), ("2026-01-01T00:00:02.000000Z", "a2")],
        tail='{"time": "2026-01-01T00:00:0',
    )

    assert [r["event"] for r in read_logs(log_dir, "a", 5)] == ["a1", "a2"]
    assert [r["event"] for r in read_logs(log_dir, None, 1)] == ["a2"]


def test_read_logs_reaches_into_rotated_backups(log_dir: Path) -> None:
    setup_logging(log_dir, "gateway", max_bytes=400, backups=5)
    for i in range(12):
        LOG.info("line %02d", i)
    assert (log_dir / "gateway.log.2").exists()

    events = [r["event"] for r in read_logs(log_dir, "gateway", 8)]
    assert events == [f"line {i:02d}" for i in range(4, 12)]


def test_read_logs_handles_files_larger_than_one_block(log_dir: Path) -> None:
    records = [(f"2026-01-01T00:00:00.{i:06d}Z", "x" * 200 + str(i)) for i in range(2000)]
    write_records(log_dir / "big.log", records)

    got = read_logs(log_dir, "big", 1500)
    assert [r["time"] for r in got] == [t for t, _ in records[500:]]


# --- following ---------------------------------------------------------------------------


class Follower:
    """Consume follow_logs in a thread and collect the events."""

    def __init__(self, log_dir: Path, card: str | None) -> None:
        self.events: list[str] = []
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(log_dir, card), daemon=True)
        self._thread.start()

    def _run(self, log_dir: Path, card: str | None) -> None:
        for record in follow_logs(log_dir, card, stop=self.stop, poll=0.01):
            self.events.append(record["event"])

    def close(self) -> None:
        self.stop.set()
        self._thread.join(timeout=5)
        assert not self._thread.is_alive()


def test_follow_logs_sees_new_lines_only(log_dir: Path) -> None:
    setup_logging(log_dir, "gateway")
    LOG.info("old")
    follower = Follower(log_dir, "gateway")
    time.sleep(0.05)
    LOG.info("new 1")
    LOG.info("new 2")
    wait_for(lambda: len(follower.events) >= 2)
    follower.close()

    assert follower.events == ["new 1", "new 2"]


def test_follow_logs_survives_rotation(log_dir: Path) -> None:
    setup_logging(log_dir, "gateway", max_bytes=300, backups=2)
    follower = Follower(log_dir, "gateway")
    time.sleep(0.05)
    for i in range(12):
        LOG.info("line %02d", i)
        wait_for(lambda i=i: len(follower.events) > i)
    follower.close()

    assert (log_dir / "gateway.log.2").exists()
    assert follower.events == [f"line {i:02d}" for i in range(12)]


def test_follow_logs_reopens_a_truncated_file(log_dir: Path) -> None:
    path = log_dir / "a.log"
    write_records(path, [("2026-01-01T00:00:01.000000Z", "before")])
    follower = Follower(log_dir, "a")
    time.sleep(0.05)
    path.write_text("")  # truncate in place, as `truncate -s 0` or logrotate copytruncate
    time.sleep(0.05)
    with path.open("a") as handle:
        handle.write(json.dumps({"time": "2026-01-01T00:00:02.000000Z", "event": "after"}))
        handle.write("\n")
    wait_for(lambda: follower.events == ["after"])
    follower.close()


def test_follow_all_cards_picks_up_a_card_that_starts_later(log_dir: Path) -> None:
    write_records(log_dir / "a.log", [("2026-01-01T00:00:01.000000Z", "a-old")])
    follower = Follower(log_dir, None)
    time.sleep(0.05)
    write_records(
        log_dir / "b.log",
        [("2026-01-01T00:00:02.000000Z", "b-new")],
        tail='{"time": "2026-01-01T00:00:03',
    )  # half-written: not yet a record
    wait_for(lambda: follower.events == ["b-new"])
    with (log_dir / "b.log").open("a") as handle:
        handle.write('.000000Z", "event": "b-done"}\n')
    wait_for(lambda: follower.events == ["b-new", "b-done"])
    follower.close()
