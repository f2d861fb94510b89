"""Benchmark MagWS: insert-to-delivery latency, against a bare websockets broadcast server.

Run: `.venv/bin/python bench/realtime.py [--dsn DSN] [--inserts N] [--fanout-inserts N]
[--subscribers N] [--gap-ms MS]`

A throwaway PostgreSQL database gets `bench(id bigserial pk, seq int, note text)`; a real
board (`mobo init` + `mobo boot` in a temporary home, its main store on that database,
every card plugged) captures its changes in the database and serves them over the Pusher
protocol. Subscribers are Python `websockets` clients in this process that connect to
`ws://127.0.0.1:<realtime port>/app/<key>?protocol=7`, authorize `private-db.main.bench`
at the gateway (`POST /realtime/v1/auth`, service_role key) and subscribe. Then rows are
inserted one by one with psycopg (autocommit, as another app or psql would), `--gap-ms`
apart, and each subscriber notes when the `insert` event carrying that row's `seq`
arrives. Latency = arrival - the moment before the INSERT was sent (so it includes the
commit, the trigger, NOTIFY, the capture thread, the Redis stream, the realtime card and
the client's own parsing).

Scenarios: 1 subscriber (`--inserts` rows) and `--subscribers` (default 1,000) on one
channel (`--fanout-inserts` rows). For the fan-out, p50/p99 over every delivery and p99
of the per-row "last subscriber served" time (the issue's "all 1,000 served within").

Baseline in the same run: a bare `websockets` broadcast server in its own process
(`--baseline-server PORT` runs it): subscribers send `sub`, a publisher connection sends
`pub:<seq>` and the server `broadcast()`s it; same client code, same gaps. The ratio
MagWS/baseline is printed. Targets (issue 6): p99 <= 20 ms for one subscriber, every one
of 1,000 subscribers served within 250 ms p99. Nothing is written to RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
CHANNEL = "private-db.main.bench"
CONNECT_CONCURRENCY = 50
DELIVERY_WAIT_S = 10.0
WARMUP_WAIT_S = 30.0  # the realtime card holds deliveries `replay_grace` s after it starts


# ---------------------------------------------------------------- plumbing


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def mobo(env: dict[str, str], *args: str, timeout: float = 180) -> str:
    proc = subprocess.run([PYTHON, "-m", "mobo", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"mobo {' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


@contextmanager
def throwaway_database(dsn: str) -> Iterator[str]:
    import psycopg

    name = f"mobo_bench_rt_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    db_dsn = dsn.rsplit("/", 1)[0] + "/" + name
    try:
        with psycopg.connect(db_dsn, autocommit=True) as conn:
            conn.execute("CREATE TABLE bench (id bigserial PRIMARY KEY, seq int, note text)")
        yield db_dsn
    finally:
        with psycopg.connect(dsn, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass(frozen=True, slots=True)
class Board:
    gateway: str
    ws_url: str
    service_key: str
    env: dict[str, str]


@contextmanager
def magflock_board(db_dsn: str) -> Iterator[Board]:
    """A real board in a temporary home whose main store is the benchmark database."""
    home = Path(tempfile.mkdtemp(prefix="mobo-bench-rt-", dir="/tmp"))
    port, ws_port, http_port = free_port(), free_port(), free_port()
    env = {**os.environ, "MOBO_HOME": str(home)}
    env.pop("MOBO_REDIS_URL", None)
    try:
        mobo(env, "init", "--port", str(port))
        path = home / "mobo.toml"
        text = path.read_text()
        text = re.sub(r"(?m)^workers = .*$", "workers = 2", text)
        text += f'\n[datastores.main]\nengine = "postgres"\ndsn = "{db_dsn}"\n'
        # the [realtime] section `mobo init` wrote: this run's free ports instead
        ports = f"port = {ws_port}\nhttp_port = {http_port}"
        text = re.sub(r"(?m)^port = \d+\nhttp_port = \d+$", ports, text)
        path.write_text(text)
        mobo(env, "boot")
        status = json.loads(mobo(env, "realtime:status", "--json"))
        keys = json.loads(mobo(env, "keys:list", "--json"))
        service = next(k["key"] for k in keys if k.get("role") == "service_role")
        ws_url = f"ws://127.0.0.1:{status['port']}/app/{status['key']}?protocol=7"
        yield Board(f"http://127.0.0.1:{port}", ws_url, service, env)
    finally:
        subprocess.run([PYTHON, "-m", "mobo", "shutdown"], env=env, cwd=ROOT,
                       capture_output=True, timeout=120, check=False)  # fmt: skip
        shutil.rmtree(home, ignore_errors=True)


# ---------------------------------------------------------------- subscribers


class Arrivals:
    """When each subscriber saw each seq."""

    def __init__(self) -> None:
        self.at: dict[int, list[float]] = defaultdict(list)
        self.sent: dict[int, float] = {}

    def complete(self, seqs: range, subscribers: int) -> bool:
        return all(len(self.at[s]) >= subscribers for s in seqs)


async def pusher_subscriber(board: Board, arrivals: Arrivals, ready: asyncio.Event) -> None:
    """One pusher-js-like client: connect, authorize, subscribe, note each insert's arrival."""
    from websockets.asyncio.client import connect

    async with connect(board.ws_url, max_queue=None, open_timeout=30) as ws:
        hello = json.loads(await ws.recv())
        socket_id = json.loads(hello["data"])["socket_id"]
        auth = await asyncio.to_thread(authorize, board, socket_id)
        await ws.send(json.dumps({"event": "pusher:subscribe",
                                  "data": {"auth": auth, "channel": CHANNEL}}))  # fmt: skip
        async for raw in ws:
            message = json.loads(raw)
            event = message.get("event")
            if event == "pusher_internal:subscription_succeeded":
                ready.set()
            elif event == "insert" and message.get("channel") == CHANNEL:
                now = time.perf_counter()
                data = message["data"]
                change = json.loads(data) if isinstance(data, str) else data
                arrivals.at[int(change["new"]["seq"])].append(now)
            elif event == "pusher:error":
                raise RuntimeError(f"the server refused: {message}")


def authorize(board: Board, socket_id: str) -> str:
    body = urllib.parse.urlencode({"socket_id": socket_id, "channel_name": CHANNEL}).encode()
    for _ in range(20):
        req = urllib.request.Request(
            board.gateway + "/realtime/v1/auth",
            data=body,
            headers={
                "apikey": board.service_key,
                "Authorization": f"Bearer {board.service_key}",
                "Content-Type": "application/x-www-form-urlencoded",
            },
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read())["auth"]
        except urllib.error.HTTPError as exc:
            if exc.code != 429:
                raise RuntimeError(f"auth refused: {exc.code} {exc.read()!r}") from None
            time.sleep(0.2)
    raise RuntimeError("auth kept answering 429")


async def baseline_subscriber(url: str, arrivals: Arrivals, ready: asyncio.Event) -> None:
    from websockets.asyncio.client import connect

    async with connect(url, max_queue=None, open_timeout=30) as ws:
        await ws.send("sub")
        async for raw in ws:
            if raw == "ok":
                ready.set()
                continue
            now = time.perf_counter()
            arrivals.at[int(raw)].append(now)


async def run_scenario(
    subscribe: Callable[[Arrivals, asyncio.Event], Awaitable[None]],
    publish: Callable[[int], Awaitable[None]],
    subscribers: int,
    inserts: int,
    gap_s: float,
) -> Arrivals:
    arrivals = Arrivals()
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)
    tasks: list[asyncio.Task[None]] = []

    async def one() -> None:
        ready = asyncio.Event()
        async with limit:
            task = asyncio.create_task(subscribe(arrivals, ready))
            tasks.append(task)
            done, _ = await asyncio.wait(
                {task, asyncio.create_task(ready.wait())}, return_when=asyncio.FIRST_COMPLETED
            )
            if task in done:
                task.result()  # raises what went wrong

    await asyncio.gather(*(one() for _ in range(subscribers)))
    await asyncio.sleep(0.5)  # let the server settle after the connection storm
    for seq in range(-3, 0):  # warm-up rows, not counted: also outlast the card's
        arrivals.sent[seq] = time.perf_counter()  # replay grace after a fresh boot
        await publish(seq)
    deadline = time.monotonic() + WARMUP_WAIT_S
    while not arrivals.complete(range(-3, 0), subscribers) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for seq in range(inserts):
        arrivals.sent[seq] = time.perf_counter()
        await publish(seq)
        await asyncio.sleep(gap_s)
    deadline = time.monotonic() + DELIVERY_WAIT_S
    while not arrivals.complete(range(inserts), subscribers) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return arrivals


# ---------------------------------------------------------------- statistics


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


@dataclass(frozen=True, slots=True)
class Figures:
    p50: float
    p99: float
    last_p99: float  # per row, the slowest subscriber
    delivered: int
    expected: int


def figures(arrivals: Arrivals, inserts: int, subscribers: int) -> Figures:
    every, last = [], []
    for seq in range(inserts):
        times = [(t - arrivals.sent[seq]) * 1000 for t in arrivals.at.get(seq, [])]
        every += times
        if times:
            last.append(max(times))
    return Figures(
        percentile(every, 50),
        percentile(every, 99),
        percentile(last, 99),
        len(every),
        inserts * subscribers,
    )


# ---------------------------------------------------------------- baseline server


def baseline_server(port: int) -> None:
    """A bare websockets broadcast server: `sub` subscribes, `pub:<seq>` broadcasts."""
    from websockets.asyncio.server import broadcast, serve
    from websockets.exceptions import ConnectionClosed

    subscribers: set[object] = set()

    async def handler(ws) -> None:  # type: ignore[no-untyped-def]
        try:
            async for message in ws:
                if message == "sub":
                    subscribers.add(ws)
                    await ws.send("ok")
                elif message.startswith("pub:"):
                    broadcast(subscribers, message[4:])  # type: ignore[arg-type]
        except ConnectionClosed:
            pass  # a subscriber cancelled at the end of a scenario
        finally:
            subscribers.discard(ws)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", port, max_queue=None):
            await asyncio.Future()

    asyncio.run(main())


@contextmanager
def baseline() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen([PYTHON, __file__, "--baseline-server", str(port)], cwd=ROOT)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the baseline server did not start") from None
                time.sleep(0.05)
        yield f"ws://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


# ---------------------------------------------------------------- main


async def measure(board: Board, db_dsn: str, base_url: str, opts: argparse.Namespace) -> dict:
    import psycopg
    from websockets.asyncio.client import connect

    gap = opts.gap_ms / 1000
    results: dict[str, Figures] = {}
    async with await psycopg.AsyncConnection.connect(db_dsn, autocommit=True) as conn:

        async def insert(seq: int) -> None:
            await conn.execute("INSERT INTO bench (seq, note) VALUES (%s, 'x')", (seq,))

        async with connect(base_url) as pub:

            async def base_publish(seq: int) -> None:
                await pub.send(f"pub:{seq}")

            for label, subs, rows, gap_s in (
                ("1 subscriber", 1, opts.inserts, gap),
                (f"{opts.subscribers} subscribers", opts.subscribers, opts.fanout_inserts,
                 max(gap, 0.25)),
            ):  # fmt: skip
                print(f"-- {label}: {rows} rows ...", flush=True)
                base = await run_scenario(
                    lambda a, r: baseline_subscriber(base_url, a, r), base_publish, subs, rows,
                    gap_s,
                )  # fmt: skip
                magws = await run_scenario(
                    lambda a, r: pusher_subscriber(board, a, r), insert, subs, rows, gap_s
                )
                results[f"{label} baseline"] = figures(base, rows, subs)
                results[f"{label} MagWS"] = figures(magws, rows, subs)
    return results


def report(results: dict[str, Figures]) -> None:
    print(f"\n{'scenario':<34}{'p50 ms':>9}{'p99 ms':>9}{'last p99':>10}{'delivered':>14}")
    for name, f in results.items():
        print(
            f"{name:<34}{f.p50:>9.2f}{f.p99:>9.2f}{f.last_p99:>10.2f}"
            f"{f'{f.delivered}/{f.expected}':>14}"
        )
    print()
    for label in sorted({k.rsplit(" ", 1)[0] for k in results}):
        base, magws = results[f"{label} baseline"], results[f"{label} MagWS"]
        print(
            f"{label}: MagWS/baseline p50 {magws.p50 / base.p50:.1f}x, "
            f"p99 {magws.p99 / base.p99:.1f}x, last-subscriber p99 "
            f"{magws.last_p99 / base.last_p99:.1f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=os.environ.get("MOBO_BENCH_PG_DSN", DEFAULT_DSN))
    parser.add_argument("--inserts", type=int, default=300)
    parser.add_argument("--fanout-inserts", type=int, default=40)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--gap-ms", type=float, default=20.0)
    parser.add_argument("--baseline-server", type=int, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.baseline_server:
        baseline_server(opts.baseline_server)
        return
    with throwaway_database(opts.dsn) as db_dsn, magflock_board(db_dsn) as board, baseline() as b:
        report(asyncio.run(measure(board, db_dsn, b, opts)))


if __name__ == "__main__":
    main()
