"""The retention policy keeps exactly what it says (restic/borg semantics), on sets with
chosen creation times; then once on disk through `mobo backup:prune`."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from components.backup.retention import Policy, plan, policy_from_config
from components.backup.secret import backup_secret
from mobo.exceptions import ConfigError
from mobo.kernel.config import Config, load_config
from mobo.kernel.home import init_home

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)  # a Wednesday, ISO week 48


@dataclass(frozen=True)
class FakeSet:
    id: str
    created: datetime
    good: bool = True
    partial: bool = False


def at(days: float = 0, hours: float = 0) -> datetime:
    return NOW - timedelta(days=days, hours=hours)


def kept_ids(sets: list[FakeSet], policy: Policy) -> set[str]:
    return {v.id for v in plan(sets, policy, NOW).kept}


def test_keep_last_keeps_the_newest_good_sets() -> None:
    sets = [FakeSet(f"s{i}", at(hours=i)) for i in range(6)]
    assert kept_ids(sets, Policy(3, 0, 0)) == {"s0", "s1", "s2"}


def test_keep_daily_keeps_the_newest_of_each_day_that_has_sets() -> None:
    sets = [
        FakeSet("today-late", at(hours=1)),  # 11:00 today
        FakeSet("today-early", at(hours=10)),  # 02:00 today
        FakeSet("yesterday", at(days=1)),
        FakeSet("yesterday-early", at(days=1, hours=5)),
        # no set two days ago: days without sets do not use up the count (as restic)
        FakeSet("three-days", at(days=3)),
        FakeSet("four-days", at(days=4)),
    ]
    assert kept_ids(sets, Policy(0, 3, 0)) == {"today-late", "yesterday", "three-days"}


def test_keep_weekly_uses_iso_weeks() -> None:
    sets = [
        FakeSet("wed-w48", NOW),
        FakeSet("mon-w48", datetime(2026, 11, 23, 0, 30, tzinfo=UTC)),
        FakeSet("sun-w47", datetime(2026, 11, 22, 23, 30, tzinfo=UTC)),  # Sunday ends week 47
        FakeSet("mon-w47", datetime(2026, 11, 16, 8, 0, tzinfo=UTC)),
        FakeSet("w46", datetime(2026, 11, 10, 8, 0, tzinfo=UTC)),
    ]
    assert kept_ids(sets, Policy(0, 0, 2)) == {"wed-w48", "sun-w47"}


def test_rules_are_a_union() -> None:
    sets = [FakeSet(f"d{i}", at(days=i)) for i in range(30)]  # one a day
    kept = kept_ids(sets, Policy(keep_last=2, keep_daily=5, keep_weekly=4))
    # daily: d0..d4; weekly (newest of each week): w48 -> d0, w47 -> d3 (Sun 22 Nov),
    # w46 -> d10 (Sun 15 Nov), w45 -> d17 (Sun 8 Nov)
    assert kept == {"d0", "d1", "d2", "d3", "d4", "d10", "d17"}


def test_bad_and_partial_sets_do_not_count_and_go_after_a_day() -> None:
    sets = [
        FakeSet("partial-now", at(hours=1), good=False, partial=True),
        FakeSet("bad-new", at(hours=2), good=False),
        FakeSet("good-1", at(hours=3)),
        FakeSet("good-2", at(hours=4)),
        FakeSet("bad-old", at(days=2), good=False),
        FakeSet("partial-old", at(days=3), good=False, partial=True),
    ]
    result = plan(sets, Policy(1, 0, 0), NOW)
    assert {v.id for v in result.kept} == {"partial-now", "bad-new", "good-1"}
    assert {v.id for v in result.removed} == {"good-2", "bad-old", "partial-old"}
    notes = {v.id: " ".join(v.reasons) for v in result.verdicts}
    assert "may still be in progress" in notes["partial-now"]
    assert "older than a day" in notes["partial-old"] and "unfinished" in notes["partial-old"]
    assert "signature" in notes["bad-old"]


def test_never_removes_the_only_good_set() -> None:
    sets = [FakeSet("only", at(days=40)), FakeSet("bad", at(days=39), good=False)]
    result = plan(sets, Policy(0, 0, 0), NOW)
    assert [v.id for v in result.kept] == ["only"]
    assert [v.id for v in result.removed] == ["bad"]


def test_policy_comes_from_config_with_overrides(tmp_path: Path) -> None:
    init_home(tmp_path)
    with (tmp_path / "mobo.toml").open("a") as fh:
        fh.write("\n[backup]\nkeep_last = 3\nkeep_weekly = 9\n")
    config = load_config(tmp_path)
    assert policy_from_config(config) == Policy(3, 7, 9)
    assert policy_from_config(config, keep_daily=1, keep_last=None) == Policy(3, 1, 9)


def test_bad_policy_value_names_the_key(tmp_path: Path) -> None:
    init_home(tmp_path)
    with (tmp_path / "mobo.toml").open("a") as fh:
        fh.write('\n[backup]\nkeep_daily = "lots"\n')
    with pytest.raises(ConfigError, match=r"backup\.keep_daily"):
        policy_from_config(load_config(tmp_path))


# --- on disk, through the real CLI --------------------------------------------------------


def test_prune_on_disk_removes_what_the_policy_drops(tmp_path: Path) -> None:
    home = tmp_path / "home"
    init_home(home)
    config = load_config(home)
    now = datetime.now(UTC)
    ids = [make_set(config, now - timedelta(days=d)) for d in range(5)]  # newest first
    partial_old = make_set(config, now - timedelta(days=2), partial=True)
    partial_new = make_set(config, now - timedelta(minutes=5), partial=True)
    forged = make_set(config, now - timedelta(days=3), secret="not the board's secret")
    env = {"MOBO_HOME": str(home), "PATH": "/usr/bin:/bin", "COLUMNS": "200"}
    base = [sys.executable, "-m", "mobo", "backup:prune", "--keep-last", "2", "--keep-daily", "0"]

    dry = _run([*base, "--keep-weekly", "0", "--dry-run", "--json"], env)
    assert {v["id"] for v in dry["remove"]} == {*ids[2:], partial_old, forged}
    assert all((config.home / "backups" / i).is_dir() for i in ids)  # dry run: nothing gone

    done = _run([*base, "--keep-weekly", "0", "--json"], env)
    assert {v["id"] for v in done["keep"]} == {ids[0], ids[1], partial_new}
    left = sorted(p.name for p in (config.home / "backups").iterdir())
    assert left == sorted([ids[0], ids[1], f".partial-{partial_new}"])

    listed = subprocess.run(
        [sys.executable, "-m", "mobo", "backup:prune", "--keep-last", "0", "--keep-daily", "0",
         "--keep-weekly", "0"],
        env=env, capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "newest good set" in listed and ids[0] in listed
    assert (config.home / "backups" / ids[0]).is_dir()  # the last good set survives


def make_set(
    config: Config, created: datetime, *, partial: bool = False, secret: str | None = None
) -> str:
    """Write a set in the contract's layout, its manifest signed by the contract's rule:
    HMAC-SHA256 (hex) over the sorted, compact, ASCII JSON without `signature`."""
    set_id = created.strftime("%Y%m%dT%H%M%SZ") + "-" + secrets.token_hex(3)
    folder = config.home / "backups" / (f".partial-{set_id}" if partial else set_id)
    folder.mkdir(parents=True)
    (folder / "main.dump").write_bytes(b"rows")
    if partial:
        return set_id  # an unfinished set has no manifest yet
    body = {
        "format_version": 1,
        "id": set_id,
        "label": None,
        "board_id": config.board.id,
        "created": created.isoformat(),
        "finished": created.isoformat(),
        "stores": {"main": {"engine": "sqlite", "file": "main.dump", "size": 4}},
        "encrypted": False,
    }
    key = secret or backup_secret(config)
    text = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    body["signature"] = hmac.new(key.encode(), text.encode(), hashlib.sha256).hexdigest()
    (folder / "manifest.json").write_text(json.dumps(body))
    return set_id


def _run(argv: list[str], env: dict[str, str]) -> dict:
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout)
