"""MagBackup against raw `pg_dump -Fc` / `pg_restore` on one PostgreSQL database.

    .venv/bin/python bench/backup.py [--scale 70] [--pg-dsn postgresql://postgres@127.0.0.1/postgres]

A throwaway database is filled by `pgbench -i -s SCALE` (scale 70 is about 1 GB on disk:
7 million `pgbench_accounts` rows plus their primary keys) and a throwaway board home is
made (`mobo init`) with that database as its store `bench`. Then, in the same run:

- raw backup: `pg_dump -Fc -f FILE DB` (pg_dump's default compression for -Fc, gzip at
  zlib's default level, on both sides: MagBackup passes no -Z either);
- raw restore: `pg_restore --no-owner --jobs=N -d SCRATCH FILE` into a fresh scratch
  database, N = the cores this process may use (at most 8), as MagBackup's trial restore;
- MagBackup backup: `create_set(config, stores=["bench"])`, inline in this process (the
  job's body without the queue): the dump streamed through sha256 into `.partial-<id>/`,
  row counts per table (in the dump's snapshot, beside the dump), the board's own data,
  the signed manifest, fsync, rename;
- MagBackup verified restore: `restore_set(config, id, stores=["bench"], safety=False)`:
  checksums, a trial restore into a scratch database (`pg_restore --jobs=N`) with row
  counts compared (the verification), then the restore onto the store itself
  (`pg_restore --clean --single-transaction`: all or nothing, which pg_restore cannot
  combine with --jobs) with row counts. The safety backup that `mobo backup:restore`
  takes first is left out (it is one more backup).

Phases are timed by wrapping, in this process only, the functions that do the work
(`_counts`, `write_stream`, `check_files`, `tools.run` = pg_restore) and charging each
call to the stage `restore_set` reports (verify or restore). The counts run in a thread
beside the dump: their time overlaps the dump's.

An untimed pg_dump first warms the cache (and sets the fresh rows' hint bits), so the
first round's raw dump does not pay for it. Printed: each time, the phases, and the
backup overhead (MagBackup backup / pg_dump - 1; target <= 10 %) and the restore's
(restore part / pg_restore - 1). Databases and the home are dropped afterwards. The
machine is shared: run it when quiet, and expect noise.
"""

from __future__ import annotations

import argparse
import functools
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
from benchdb import throwaway_database

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from components.backup import create, tools, verify
from components.backup.create import create_set
from components.backup.engines import postgres
from components.backup.restore import restore_set
from mobo.kernel.config import load_config
from mobo.kernel.home import init_home

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"


def run(argv: list[str], *, quiet: bool = False) -> float:
    """Run a command; return its wall time in seconds."""
    start = time.perf_counter()
    err = subprocess.DEVNULL if quiet else None
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=err)
    return time.perf_counter() - start


def db_size(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]


def load_avg() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


class Phases:
    """Time spent in the wrapped functions, per stage ("create", "verify", "restore")."""

    def __init__(self) -> None:
        self.stage = "create"
        self.times: dict[tuple[str, str], float] = {}
        self.lock = threading.Lock()

    def wrap(self, owner: object, attr: str, label: str) -> None:
        real: Callable[..., object] = getattr(owner, attr)

        @functools.wraps(real)
        def timed(*args: object, **kw: object) -> object:
            stage, start = self.stage, time.perf_counter()
            try:
                return real(*args, **kw)
            finally:
                with self.lock:
                    key = (stage, label)
                    self.times[key] = self.times.get(key, 0.0) + time.perf_counter() - start

        setattr(owner, attr, timed)

    def step(self, stage: str) -> None:
        self.stage = "restore" if stage.startswith("restoring") else "verify"

    def take(self) -> dict[tuple[str, str], float]:
        taken, self.times, self.stage = self.times, {}, "create"
        return taken


PHASES = Phases()
PHASES.wrap(postgres, "_counts", "row counts")
PHASES.wrap(create, "write_stream", "dump streamed to the set (pg_dump, sha256, fsync)")
PHASES.wrap(verify, "check_files", "checksums")
PHASES.wrap(tools, "run", "pg_restore")


def raw_round(dsn: str, admin_dsn: str, work: Path) -> tuple[float, float, int]:
    dump = work / "raw.dump"
    backup_s = run(["pg_dump", "-Fc", "-f", str(dump), "-d", dsn])
    jobs = f"--jobs={tools.restore_jobs()}"
    with throwaway_database(admin_dsn, "scratch") as scratch:
        restore_s = run(["pg_restore", "--no-owner", jobs, "-d", scratch, str(dump)])
    size = dump.stat().st_size
    dump.unlink()
    return backup_s, restore_s, size


def magbackup_round(
    home: Path,
) -> tuple[float, dict[str, float], int, dict[tuple[str, str], float]]:
    config = load_config(home)
    PHASES.take()
    start = time.perf_counter()
    path = create_set(config, stores=["bench"], label="bench")
    backup_s = time.perf_counter() - start
    size = sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
    marks: list[tuple[str, float]] = []

    def step(stage: str) -> None:
        PHASES.step(stage)
        marks.append((stage, time.perf_counter()))

    start = time.perf_counter()
    restore_set(config, path.name, stores=["bench"], safety=False, step=step)
    end = time.perf_counter()
    phases = PHASES.take()
    restoring = next((t for s, t in marks if s.startswith("restoring")), end)
    stages = {"total": end - start, "verify": restoring - start, "restore": end - restoring}
    phases[("create", "whole")] = backup_s
    phases[("verify", "whole")] = stages["verify"]
    phases[("restore", "whole")] = stages["restore"]
    shutil.rmtree(path)
    return backup_s, stages, size, phases


def pg_version() -> str:
    out = subprocess.run(["pg_dump", "--version"], capture_output=True, text=True, check=True)
    return out.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=int, default=70, help="pgbench scale (70 = ~1 GB)")
    parser.add_argument("--rounds", type=int, default=1, help="rounds; medians are shown")
    parser.add_argument("--pg-dsn", default=os.environ.get("MOBO_TEST_PG_DSN", DEFAULT_DSN))
    args = parser.parse_args()
    print(f"{pg_version()}; pg_restore --jobs={tools.restore_jobs()}; {os.cpu_count()} cores")
    with (
        tempfile.TemporaryDirectory(prefix="mobo-bench-") as tmp,
        throwaway_database(args.pg_dsn, "backup") as dsn,
    ):
        work = Path(tmp)
        print(f"building: pgbench -i -s {args.scale} (load {load_avg()})", flush=True)
        build_s = run(["pgbench", "-i", "-q", "-s", str(args.scale), dsn], quiet=True)
        size = db_size(dsn)
        print(f"database: {size / 2**20:.0f} MiB, built in {build_s:.1f} s", flush=True)
        home = work / "home"
        init_home(home)
        with (home / "mobo.toml").open("a") as fh:
            fh.write(f'\n[datastores.bench]\nengine = "postgres"\ndsn = "{dsn}"\n')

        # untimed: the first read of a fresh database sets hint bits and fills the cache
        print(f"warm-up: pg_dump -Fc, untimed (load {load_avg()})", flush=True)
        run(["pg_dump", "-Fc", "-f", str(work / "warm.dump"), "-d", dsn])
        (work / "warm.dump").unlink()

        raws, mbs = [], []
        for round_ in range(1, args.rounds + 1):
            print(f"round {round_}: raw pg_dump -Fc / pg_restore (load {load_avg()})", flush=True)
            raws.append(raw_round(dsn, args.pg_dsn, work))
            print(f"round {round_}: MagBackup create / verified restore (load {load_avg()})")
            mbs.append(magbackup_round(home))
            (rb, rr, _), (mb, st, _, _) = raws[-1], mbs[-1]
            print(
                f"  raw {rb:.2f} / {rr:.2f} s; MagBackup {mb:.2f} / {st['total']:.2f} s "
                f"(verify {st['verify']:.2f} + restore {st['restore']:.2f}); "
                f"backup overhead {mb / rb - 1:+.1%}",
                flush=True,
            )
    raw_backup = statistics.median(r[0] for r in raws)
    raw_restore = statistics.median(r[1] for r in raws)
    raw_size = raws[-1][2]
    mb_backup = statistics.median(m[0] for m in mbs)
    stages = {k: statistics.median(m[1][k] for m in mbs) for k in ("total", "verify", "restore")}
    mb_size = mbs[-1][2]
    overheads = [m[0] / r[0] - 1 for r, m in zip(raws, mbs, strict=True)]

    print()
    print("| step | raw s | MagBackup s | overhead |")
    print("|---|---|---|---|")
    print(f"| backup | {raw_backup:.2f} | {mb_backup:.2f} | {mb_backup / raw_backup - 1:+.1%} |")
    print(
        f"| restore (restore part) | {raw_restore:.2f} | {stages['restore']:.2f} | "
        f"{stages['restore'] / raw_restore - 1:+.1%} |"
    )
    print(f"| verify (checksums + trial restore) | - | {stages['verify']:.2f} | |")
    print(f"| verified restore, whole | {raw_restore:.2f} | {stages['total']:.2f} | |")
    print()
    print("| phase (median s) | create | verify | restore |")
    print("|---|---|---|---|")
    labels = sorted({label for m in mbs for (_, label) in m[3]}, key=lambda x: x == "whole")
    for label in labels:
        cells = []
        for stage in ("create", "verify", "restore"):
            values = [m[3].get((stage, label)) for m in mbs]
            known = [v for v in values if v is not None]
            cells.append(f"{statistics.median(known):.2f}" if known else "-")
        print(f"| {label} | {' | '.join(cells)} |")
    print()
    print("per-round backup overheads: " + ", ".join(f"{o:+.1%}" for o in overheads))
    print(f"dump size: raw {raw_size / 2**20:.1f} MiB, MagBackup set {mb_size / 2**20:.1f} MiB")
    verdict = "met" if mb_backup / raw_backup - 1 <= 0.10 else "NOT met"
    print(f"backup overhead target <= 10 %: {verdict}  (load at end {load_avg()})")


if __name__ == "__main__":
    main()
