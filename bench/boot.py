"""Boot benchmark: median over cold boots of the default board, and idle memory.

    .venv/bin/python bench/boot.py [--runs 5]

Each run makes a fresh home (`mobo init`), boots it in a new process, and shuts it down.
Reported per run: kernel time (pre-boot through POST) and time to READY as the boot
manager measures them, plus the wall time of the whole `mobo boot` command (Python start
and imports included). After the last boot, the resident memory of every board process
(supervisord and all cards, without Redis) is measured idle, as RSS and as PSS (which
shares pages between forked gunicorn workers fairly).
Targets (issue #2): kernel <= 300 ms, READY <= 2 s, idle memory <= 250 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

HARNESS = """
import json, sys
from mobo.kernel.boot import BootManager, SilentReporter
r = BootManager(None, SilentReporter()).boot()
print(json.dumps({"kernel_ms": r.kernel_ms, "ready_ms": r.ready_ms, "cards": r.cards}))
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mobo(home: Path, *args: str) -> None:
    env = {**os.environ, "MOBO_HOME": str(home)}
    subprocess.run([sys.executable, "-m", "mobo", *args], env=env, check=True, capture_output=True)


def one_boot(keep: bool) -> tuple[dict, Path]:
    home = Path(tempfile.mkdtemp(prefix="mobo-bench-", dir="/tmp"))
    mobo(home, "init", "--port", str(free_port()))
    env = {**os.environ, "MOBO_HOME": str(home)}
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", HARNESS], env=env, check=True, capture_output=True, text=True
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    result["wall_ms"] = (time.perf_counter() - start) * 1000
    if not keep:
        shutdown(home)
    return result, home


def shutdown(home: Path) -> None:
    mobo(home, "shutdown")
    shutil.rmtree(home, ignore_errors=True)


def idle_memory(home: Path, settle_s: float) -> tuple[float, float, list[str]]:
    time.sleep(settle_s)
    root = psutil.Process(int((home / ".mobo/run/supervisord.pid").read_text()))
    procs = [root, *root.children(recursive=True)]
    procs = [p for p in procs if "redis-server" not in p.name()]
    rss = sum(p.memory_info().rss for p in procs) / 1_048_576
    pss = sum(p.memory_full_info().pss for p in procs) / 1_048_576
    return rss, pss, [f"{p.pid}:{' '.join(p.cmdline()[-3:])}" for p in procs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--settle", type=float, default=5.0, help="idle seconds before memory")
    args = parser.parse_args()
    runs = []
    for i in range(args.runs):
        result, home = one_boot(keep=i == args.runs - 1)
        runs.append(result)
        print(
            f"run {i + 1}: kernel {result['kernel_ms']:6.1f} ms  READY {result['ready_ms']:7.1f}"
            f" ms  wall {result['wall_ms']:7.1f} ms  cards {','.join(result['cards'])}"
        )
    try:
        rss, pss, procs = idle_memory(home, args.settle)
    finally:
        shutdown(home)
    med = {k: statistics.median(r[k] for r in runs) for k in ("kernel_ms", "ready_ms", "wall_ms")}
    print(
        f"\nmedian of {args.runs}: kernel {med['kernel_ms']:.1f} ms (target <= 300), "
        f"READY {med['ready_ms']:.1f} ms (target <= 2000), wall {med['wall_ms']:.1f} ms"
    )
    print(
        f"idle memory of {len(procs)} board processes (no Redis): RSS {rss:.1f} MB, "
        f"PSS {pss:.1f} MB (target <= 250 MB)"
    )


if __name__ == "__main__":
    main()
