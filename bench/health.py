"""Health monitor benchmark: its CPU cost per round, and the time from a hang to recovery.

    .venv/bin/python bench/health.py [--rounds 30]

1. CPU per round: a default board (gateway, worker, monitor; the local Redis) with
   `[health] interval = 1`; the monitor process's CPU time (user + system) over N rounds,
   divided by N. Baseline in the same run: the bare probes the monitor performs (a Redis
   PING, the cards' hash reads, one HTTP GET /health, supervisor's process list), done
   in a plain loop in this process for the same N rounds.
2. Hang to recovery: `kill -STOP` of the gateway's master with interval 1 s, failure
   threshold 2, heartbeat 0.5 s; the time until a new master serves /health. Five runs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil
import redis

HEALTH = """
[health]
interval = 1
timeout = 1
retries = 0
failure_threshold = 2
recovery_threshold = 1
heartbeat = 0.5
restart_base = 1
restart_max = 100
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mobo(home: Path, *args: str) -> str:
    env = {**os.environ, "MOBO_HOME": str(home)}
    return subprocess.run(
        [sys.executable, "-m", "mobo", *args], env=env, check=True, capture_output=True, text=True
    ).stdout


def card(home: Path, name: str) -> dict:
    cards = json.loads(mobo(home, "status", "--json"))["cards"]
    return next(c for c in cards if c["name"] == name)


def cpu_s(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def answering(url: str, master: int | None = None) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=1) as resp:
            who = resp.headers.get("X-Mobo-Gateway-Master")
            return resp.status == 200 and (master is None or who != str(master))
    except OSError:
        return False


def baseline_cpu(home: Path, url: str, rounds: int) -> float:
    """CPU seconds per round of the bare probes, done in this process."""
    from mobo.kernel.config import load_config
    from mobo.kernel.keys import Keys
    from mobo.kernel.supervisor import Supervisor

    config = load_config(home)
    client = redis.Redis()
    keys = Keys(config.namespace)
    supervisor = Supervisor(config)
    start = time.process_time()
    for _ in range(rounds):
        client.ping()
        for name in ("gateway", "worker", "redis"):
            client.hmget(keys.card(name), ["pid", "updated", "state", "detail"])
        supervisor.processes()
        answering(url)
    return (time.process_time() - start) / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--hangs", type=int, default=5)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="mobo-hb-", dir="/tmp"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    mobo(home, "init", "--port", str(port))
    (home / "mobo.toml").write_text((home / "mobo.toml").read_text() + HEALTH)
    try:
        mobo(home, "boot")
        time.sleep(3)
        monitor = card(home, "monitor")["pid"]
        before = cpu_s(monitor)
        time.sleep(args.rounds)
        per_round = (cpu_s(monitor) - before) / args.rounds
        base = baseline_cpu(home, url, args.rounds)
        print(
            f"monitor CPU per round: {per_round * 1000:.2f} ms "
            f"(bare probes: {base * 1000:.2f} ms; ratio {per_round / base:.1f}x; "
            f"{per_round * 100:.2f} % of one core at interval 1 s, "
            f"{per_round / 30 * 100:.3f} % at the default 30 s)"
        )
        recoveries = []
        for _ in range(args.hangs):
            time.sleep(2)
            master = card(home, "gateway")["pid"]
            start = time.monotonic()
            os.kill(master, signal.SIGSTOP)
            while not answering(url, master) and time.monotonic() - start < 60:
                time.sleep(0.05)
            recoveries.append(time.monotonic() - start)
        print(
            "hang -> recovery (s): "
            + ", ".join(f"{r:.2f}" for r in recoveries)
            + f"; median {statistics.median(recoveries):.2f} s with interval 1 s, threshold "
            "2, heartbeat 0.5 s (bound: heartbeat staleness 2.25 s + 2 rounds + restart)"
        )
    finally:
        mobo(home, "shutdown")
        shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
