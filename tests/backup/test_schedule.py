"""Backup schedules: parsing, storage (Redis + mirror file), and firing with a given clock."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import redis

from components.backup import names
from components.backup.errors import BackupError
from components.backup.scheduler.cron import CronError, parse_cron
from components.backup.scheduler.fire import Scheduler
from components.backup.scheduler.store import Schedule, ScheduleStore
from mobo.kernel.keys import Keys

T0 = datetime(2026, 11, 25, 12, 0, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("expr", "field"),
    [
        ("61 * * * *", "minute"),
        ("* 25 * * *", "hour"),
        ("* * 0 * *", "day of month"),
        ("* * * 13 *", "month"),
        ("* * * * mon-xx", "day of week"),
        ("99 * * * * *", "second"),
    ],
)
def test_a_bad_field_is_named(expr: str, field: str) -> None:
    with pytest.raises(CronError, match=f"the {field} field"):
        parse_cron(expr)


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("* * *", "has 3 fields, expected 5 or 6"),
        ("", "has 0 fields"),
        ("@fortnightly", "unknown alias"),
        ("@every 0s", "not a valid @every"),
        ("@every 5 parsecs", "not a valid @every"),
        ("0 0 31 2 *", "never matches"),
    ],
)
def test_bad_expressions_say_what_is_wrong(expr: str, message: str) -> None:
    with pytest.raises(CronError, match=message) as err:
        parse_cron(expr)
    assert err.value.hint


def test_due_times() -> None:
    daily = parse_cron("0 3 * * *")
    assert daily.prev(T0) == datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    assert daily.next(T0) == datetime(2026, 11, 26, 3, 0, tzinfo=UTC)
    exact = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    assert daily.prev(exact) == exact  # a due time counts as due at that instant
    seconds = parse_cron("*/10 * * * * *")  # 6 fields: seconds first
    assert seconds.prev(T0) == T0 and seconds.next(T0) == T0 + timedelta(seconds=10)
    every = parse_cron("@every 2s")
    assert every.prev(T0 + timedelta(seconds=1.5)) == T0 and every.every_s == 2
    assert parse_cron("@every 6h").every_s == 6 * 3600
    assert parse_cron("@daily").next(T0) == datetime(2026, 11, 26, tzinfo=UTC)


@pytest.fixture
def store(redis_client: redis.Redis, keys: Keys, tmp_path: Path) -> ScheduleStore:
    return ScheduleStore(redis_client, keys, tmp_path / ".mobo" / "backup-schedules.json")


def test_add_list_remove(store: ScheduleStore, tmp_path: Path) -> None:
    a = store.add("0  3 * * *", ("main",), "nightly")
    b = store.add("@every 6h")
    assert a.cron == "0 3 * * *"  # whitespace normalised
    assert [s.id for s in store.list()] == [a.id, b.id]
    assert store.list()[0] == a
    mirror = json.loads((tmp_path / ".mobo" / "backup-schedules.json").read_text())
    assert [s["id"] for s in mirror["schedules"]] == [a.id, b.id]
    assert store.remove(a.id) == a
    assert [s.id for s in store.list()] == [b.id]
    with pytest.raises(BackupError, match="no backup schedule") as err:
        store.remove("nope")
    assert "--list" in (err.value.hint or "")
    with pytest.raises(CronError):
        store.add("not a cron")
    assert len(store.list()) == 1


def test_schedules_and_their_runs_survive_losing_redis(
    store: ScheduleStore, redis_client: redis.Redis, keys: Keys, tmp_path: Path
) -> None:
    kept = store.add("*/5 * * * *", label="keep me")
    store.mark_fired(kept, 1_800_000_000.0)
    redis_client.delete(names.schedules(keys), names.schedule_runs(keys))  # Redis restarted empty
    again = ScheduleStore(redis_client, keys, tmp_path / ".mobo" / "backup-schedules.json")
    assert again.list() == [kept]
    assert again.last_due(kept) == 1_800_000_000.0
    assert redis_client.hexists(names.schedules(keys), kept.id)  # re-seeded


class Recorder:
    """The enqueue function a Scheduler is given: records what it fired."""

    def __init__(self) -> None:
        self.fired: list[str] = []

    def __call__(self, schedule: Schedule) -> str:
        self.fired.append(schedule.id)
        return f"job-{len(self.fired)}"


def _schedule_at(store: ScheduleStore, cron: str, created: datetime) -> Schedule:
    schedule = store.add(cron)
    pinned = Schedule(schedule.id, schedule.cron, created=created.timestamp())
    store._redis.hset(names.schedules(store._keys), pinned.id, json.dumps(pinned.as_dict()))
    return pinned


def test_fires_once_per_due_time(store: ScheduleStore, redis_client, keys) -> None:  # type: ignore[no-untyped-def]
    schedule = _schedule_at(store, "*/5 * * * *", T0)
    enqueue = Recorder()
    scheduler = Scheduler(store, redis_client, keys, enqueue, instance="a")
    assert scheduler.tick(T0 + timedelta(minutes=2)) == []  # 12:00 was before it existed
    fired = scheduler.tick(datetime(2026, 11, 25, 12, 5, tzinfo=UTC))
    assert [(f.schedule, f.job) for f in fired] == [(schedule.id, "job-1")]
    assert scheduler.tick(datetime(2026, 11, 25, 12, 7, tzinfo=UTC)) == []
    assert enqueue.fired == [schedule.id]


def test_after_downtime_missed_runs_fire_once(store: ScheduleStore, redis_client, keys) -> None:  # type: ignore[no-untyped-def]
    _schedule_at(store, "*/5 * * * *", T0)
    enqueue = Recorder()
    Scheduler(store, redis_client, keys, enqueue, instance="a").tick(T0 + timedelta(minutes=5))
    # down for an hour: twelve runs missed; a restarted scheduler fires one catch-up run
    restarted = Scheduler(store, redis_client, keys, enqueue, instance="b")
    back = T0 + timedelta(hours=1, minutes=1)
    assert len(restarted.tick(back)) == 1
    assert restarted.tick(back + timedelta(seconds=30)) == []
    assert len(enqueue.fired) == 2


def test_two_schedulers_never_both_fire(store: ScheduleStore, redis_client, keys) -> None:  # type: ignore[no-untyped-def]
    _schedule_at(store, "@every 2s", T0)
    enqueue = Recorder()
    one = Scheduler(store, redis_client, keys, enqueue, instance="one")
    two = Scheduler(store, redis_client, keys, enqueue, instance="two")
    for step in range(1, 6):
        now = T0 + timedelta(seconds=2 * step)
        assert len(one.tick(now)) + len(two.tick(now)) == 1
    assert len(enqueue.fired) == 5


def test_two_schedulers_racing_on_a_stale_view_still_fire_once(
    store: ScheduleStore, redis_client: redis.Redis, keys: Keys
) -> None:
    """Both read `last_due` before either records the run: the NX lock decides."""
    schedule = _schedule_at(store, "@every 2s", T0)
    enqueue = Recorder()
    due = T0 + timedelta(seconds=2)
    Scheduler(store, redis_client, keys, enqueue, instance="one").tick(due)
    redis_client.hset(names.schedule_runs(keys), schedule.id, str(T0.timestamp()))  # stale
    assert Scheduler(store, redis_client, keys, enqueue, instance="two").tick(due) == []
    assert enqueue.fired == [schedule.id]


# --- the CLI ------------------------------------------------------------------------------


def _mobo(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mobo", *args],
        env={"MOBO_HOME": str(home), "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture
def board_home(tmp_path: Path, redis_client: redis.Redis):  # type: ignore[no-untyped-def]
    from mobo.kernel.config import load_config
    from mobo.kernel.home import init_home

    home = tmp_path / "home"
    init_home(home)
    yield home
    Keys(load_config(home).namespace).forget(redis_client)


def test_cli_bad_cron_is_a_clear_error(board_home: Path) -> None:
    proc = _mobo(board_home, "backup:schedule", "0 3 * * funday")
    assert proc.returncode == 1
    assert "day of week" in proc.stderr + proc.stdout and "Traceback" not in proc.stderr


def test_cli_schedule_add_list_remove(board_home: Path) -> None:
    added = _mobo(board_home, "backup:schedule", "0 3 * * *", "--label", "nightly", "--json")
    assert added.returncode == 0, added.stderr
    schedule = json.loads(added.stdout)
    assert schedule["cron"] == "0 3 * * *" and schedule["label"] == "nightly"
    assert schedule["next"].endswith("03:00:00+00:00")
    listed = json.loads(_mobo(board_home, "backup:schedule", "--list", "--json").stdout)
    assert [s["id"] for s in listed] == [schedule["id"]] and listed[0]["last_run"] is None
    table = _mobo(board_home, "backup:schedule", "--list").stdout
    assert schedule["id"] in table and "nightly" in table
    unknown = _mobo(board_home, "backup:schedule", "@daily", "--store", "nosuch")
    assert unknown.returncode == 1
    assert "no datastore named 'nosuch'" in unknown.stderr + unknown.stdout
    gone = _mobo(board_home, "backup:schedule", "--remove", schedule["id"])
    assert gone.returncode == 0 and schedule["id"] in gone.stdout
    assert json.loads(_mobo(board_home, "backup:schedule", "--list", "--json").stdout) == []
    again = _mobo(board_home, "backup:schedule", "--remove", schedule["id"])
    assert again.returncode == 1 and "no backup schedule" in again.stderr + again.stdout
    neither = _mobo(board_home, "backup:schedule")
    assert neither.returncode == 2 and "--list" in neither.stderr


def test_a_schedule_that_cannot_enqueue_does_not_stop_the_others(
    store: ScheduleStore, redis_client: redis.Redis, keys: Keys
) -> None:
    broken = _schedule_at(store, "@every 2s", T0)
    fine = _schedule_at(store, "@every 2s", T0)
    fired: list[str] = []

    def enqueue(schedule: Schedule) -> str:
        if schedule.id == broken.id:
            raise BackupError("no datastore named 'gone'")
        fired.append(schedule.id)
        return "job"

    result = Scheduler(store, redis_client, keys, enqueue).tick(T0 + timedelta(seconds=2))
    assert [f.schedule for f in result] == [fine.id] and fired == [fine.id]
