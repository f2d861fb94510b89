"""Retention: which backup sets `mobo backup:prune` keeps, like restic's and borg's `forget`.

Only good sets (the signature verifies) count toward the policy:

- `keep_last N`: the N newest good sets;
- `keep_daily D`: the newest good set of each of the last D days (UTC) that have one;
- `keep_weekly W`: the newest good set of each of the last W ISO weeks that have one.

A set is kept when any rule keeps it (the union). The newest good set is always kept, so
a prune never removes the only good set, whatever the policy. A set that is not good (a
bad signature, or an unfinished `.partial-*` directory) is removed once it is older than
a day, with a note; a younger one may still be being written and is left alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from mobo.exceptions import ConfigError
from mobo.kernel.config import Config

KEEP_LAST = 10  # defaults of [backup] keep_last / keep_daily / keep_weekly
KEEP_DAILY = 7
KEEP_WEEKLY = 4
KEEP_MAX = 100_000
NOT_GOOD_GRACE = timedelta(days=1)  # a set that is not good is removed once this old


class SetLike(Protocol):
    """What the policy needs of a set (components.backup.sets.BackupSet has it)."""

    id: str
    created: datetime
    good: bool


@dataclass(frozen=True, slots=True)
class Policy:
    keep_last: int = KEEP_LAST
    keep_daily: int = KEEP_DAILY
    keep_weekly: int = KEEP_WEEKLY

    def describe(self) -> str:
        return f"keep last {self.keep_last}, daily {self.keep_daily}, weekly {self.keep_weekly}"


@dataclass(frozen=True, slots=True)
class Verdict:
    """One set's fate: kept or removed, and why."""

    id: str
    created: datetime
    keep: bool
    reasons: tuple[str, ...]
    path: Path | None = None
    partial: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created": self.created.isoformat(),
            "keep": self.keep,
            "reasons": list(self.reasons),
            "partial": self.partial,
        }


@dataclass(slots=True)
class Plan:
    policy: Policy
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def kept(self) -> list[Verdict]:
        return [v for v in self.verdicts if v.keep]

    @property
    def removed(self) -> list[Verdict]:
        return [v for v in self.verdicts if not v.keep]

    def as_dict(self, *, dry_run: bool) -> dict[str, Any]:
        return {
            "policy": {
                "keep_last": self.policy.keep_last,
                "keep_daily": self.policy.keep_daily,
                "keep_weekly": self.policy.keep_weekly,
            },
            "dry_run": dry_run,
            "keep": [v.as_dict() for v in self.kept],
            "remove": [v.as_dict() for v in self.removed],
        }


def policy_from_config(config: Config, **overrides: int | None) -> Policy:
    """Return `[backup] keep_*`, each replaced by an override that is not None."""
    raw = config.section("backup")
    values: dict[str, int] = {}
    for name, default in (
        ("keep_last", KEEP_LAST),
        ("keep_daily", KEEP_DAILY),
        ("keep_weekly", KEEP_WEEKLY),
    ):
        given = overrides.get(name)
        value = given if given is not None else raw.get(name, default)
        values[name] = _count(value, f"{config.config_path}: backup.{name}")
    return Policy(**values)


def _count(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ConfigError(f"{where} = {value!r} is invalid: expected a whole number")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ConfigError(f"{where} = {value!r} is invalid: expected a whole number") from None
    if not 0 <= number <= KEEP_MAX:
        raise ConfigError(f"{where} = {number} is out of range", hint=f"allowed: 0 to {KEEP_MAX}")
    return number


def plan(sets: Iterable[SetLike], policy: Policy, now: datetime) -> Plan:
    """Decide which sets to keep and which to remove (nothing is touched here)."""
    items = sorted(sets, key=lambda s: s.created, reverse=True)
    good = [s for s in items if s.good]
    reasons: dict[str, list[str]] = {s.id: [] for s in good}
    for s in good[: policy.keep_last]:
        reasons[s.id].append("last")
    _newest_per(good, policy.keep_daily, lambda d: d.date().isoformat(), "daily", reasons)
    _newest_per(good, policy.keep_weekly, _iso_week, "weekly", reasons)
    if good and not any(reasons.values()):
        reasons[good[0].id].append("newest good set")
    result = Plan(policy)
    for s in items:
        path = getattr(s, "path", None)
        if s.good:
            why = tuple(reasons[s.id]) or ("not kept by the policy",)
            result.verdicts.append(Verdict(s.id, s.created, bool(reasons[s.id]), why, path))
        else:
            partial = bool(getattr(s, "partial", False))
            result.verdicts.append(_not_good(s.id, s.created, now, path, partial=partial))
    return result


def _iso_week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def _newest_per(good: list[SetLike], count: int, bucket, label: str, reasons) -> None:  # type: ignore[no-untyped-def]
    """Keep the newest set of each of the `count` newest buckets (days, weeks) that have one."""
    seen: set[str] = set()
    for s in good:  # newest first: the first set met in a bucket is its newest
        key = bucket(s.created.astimezone(UTC))
        if key in seen:
            continue
        if len(seen) >= count:
            break
        seen.add(key)
        reasons[s.id].append(f"{label} {key}")


def _not_good(
    set_id: str, created: datetime, now: datetime, path: Path | None, *, partial: bool
) -> Verdict:
    what = "unfinished (.partial)" if partial else "not good (its signature does not verify)"
    if now - created > NOT_GOOD_GRACE:
        return Verdict(set_id, created, False, (f"{what}, older than a day",), path, partial)
    note = f"{what}, younger than a day: may still be in progress"
    return Verdict(set_id, created, True, (note,), path, partial)


def prune(
    board: Any, policy: Policy, *, dry_run: bool = False, now: datetime | None = None
) -> Plan:
    """Apply the policy to the board's sets (a Board or a Config): list, decide, delete."""
    from components.backup.sets import delete_set, list_sets

    result = plan(list_sets(board), policy, now or datetime.now(UTC))
    if not dry_run:
        for verdict in result.removed:
            delete_set(board, verdict.id)
    return result
