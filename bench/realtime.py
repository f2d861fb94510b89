"""Benchmark MagWS: insert-to-delivery latency and memory per idle connection, vs a baseline.

Run: `.venv/bin/python bench/realtime.py [--dsn DSN] [--inserts N] [--fanout-inserts N]
[--subscribers N] [--gap-ms MS] [--idle N] [--workers N] [--only latency,fanout,idle]
[--magws-compression]`

A throwaway PostgreSQL database gets `bench(id bigserial pk, seq int, note text)`; a real
board (`mobo init` + `mobo boot` in a temporary home, its main store on that database,
every card plugged) captures its changes in the database and serves them over the Pusher
protocol. Subscribers are Python `websockets` clients spread over `--workers` client
processes (each its own asyncio loop holding many connections), so that parsing 1,000
frames per row is not one core's job. Each connects to
`ws://127.0.0.1:<realtime port>/app/<key>?protocol=7`, authorizes `private-db.main.bench`
at the gateway (`POST /realtime/v1/auth`, service_role key) and subscribes. Then rows are
inserted one by one with psycopg (autocommit, as another app or psql would), `--gap-ms`
apart, and each subscriber notes when the `insert` event carrying that row's `seq`
arrives. Times are `time.monotonic()` (CLOCK_MONOTONIC, one clock for every process of
the machine): latency = arrival - the moment before the INSERT was sent (so it includes
the commit, the trigger, NOTIFY, the capture thread, the Redis stream, the realtime card
and the client's own frame handling).

Scenarios:
- latency: 1 subscriber, `--inserts` rows;
- fanout: `--subscribers` (default 1,000) on one channel, `--fanout-inserts` rows; p50/p99
  over every delivery and p99 over rows of "the last subscriber had it" (the issue's "all
  1,000 served within");
- idle: `--idle` (default 5,000) connections that only connect (and get
  `pusher:connection_established`); the server process's USS/PSS/RSS (psutil
  `memory_full_info`) before and after, divided by the count.

Baseline in the same run, same client processes, same gaps: a bare `websockets`
broadcast server in its own process (`--baseline-server PORT` runs it; websockets'
defaults but for `compression=None` and `max_queue=16`, the settings MagWS serves with):
subscribers send `sub`, a publisher connection sends `pub:<seq>` and the server
`broadcast()`s it. Targets (issue 6): p99 <= 20 ms for one subscriber, every one of
1,000 subscribers served within 250 ms p99, <= 50 KB per idle connection at 5,000.
Nothing is written to RESULTS.md.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import multiprocessing
import os
import re
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from benchdb import DSN, throwaway_database

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
BENCH_TABLE = "CREATE TABLE bench (id bigserial PRIMARY KEY, seq int, note text)"
CHANNEL = "private-db.main.bench"
CONNECT_CONCURRENCY = 50  # handshakes in flight per client process
DELIVERY_WAIT_S = 15.0
WARMUP_WAIT_S = 30.0  # the realtime card holds deliveries `replay_grace` s after it starts
SETTLE_S = 3.0  # after a connection storm, before measuring memory
WARMUP = range(-3, 0)
SCENARIOS = ("latency", "fanout", "idle")


# ---------------------------------------------------------------- plumbing


def raise_fd_limit() -> int:
    """Raise this process's soft RLIMIT_NOFILE to the hard limit; return the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or hard > soft:
        target = 1 << 20 if hard == resource.RLIM_INFINITY else hard
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


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


@dataclass(frozen=True, slots=True)
class Board:
    gateway: str
    ws_url: str
    ws_port: int
    service_key: str
    env: dict[str, str]


@contextmanager
def magflock_board(db_dsn: str, compression: bool = False) -> Iterator[Board]:
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
        if compression:
            ports += "\ncompression = true"
        text = re.sub(r"(?m)^port = \d+\nhttp_port = \d+$", ports, text)
        path.write_text(text)
        mobo(env, "boot")
        status = json.loads(mobo(env, "realtime:status", "--json"))
        keys = json.loads(mobo(env, "keys:list", "--json"))
        service = next(k["key"] for k in keys if k.get("role") == "service_role")
        ws_url = f"ws://127.0.0.1:{status['port']}/app/{status['key']}?protocol=7"
        yield Board(f"http://127.0.0.1:{port}", ws_url, int(status["port"]), service, env)
    finally:
        subprocess.run([PYTHON, "-m", "mobo", "shutdown"], env=env, cwd=ROOT,
                       capture_output=True, timeout=120, check=False)  # fmt: skip
        if os.environ.get("MOBO_BENCH_KEEP_HOME"):
            print(f"kept the board's home: {home}")
        else:
            shutil.rmtree(home, ignore_errors=True)


def listener_pid(port: int) -> int:
    """The pid of the process listening on 127.0.0.1:`port` (the server to weigh)."""
    import psutil

    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr.port == port and conn.pid:
            return conn.pid
    raise RuntimeError(f"no process listens on port {port}")


# ---------------------------------------------------------------- client processes

# A client process holds many connections. The bench drives it over a pipe:
#   ("wait", [seq, ...], timeout_s) -> ("waited", complete)   every connection has those
#   ("dump",)                       -> ("arrivals", {seq: [t, ...]}), closes, exits
# after it answered ("ready", n) to the spec it was started with (or ("error", text)).


@dataclass(frozen=True, slots=True)
class ClientSpec:
    kind: str  # "pusher" | "baseline"
    url: str
    count: int
    idle: bool = False  # connect only: no subscription, nothing received but the hello
    gateway: str = ""
    service_key: str = ""


def client_process(spec: ClientSpec, pipe: Connection) -> None:
    raise_fd_limit()
    try:
        asyncio.run(_client_main(spec, pipe))
    except Exception as exc:  # reported to the bench, which raises it
        pipe.send(("error", f"{spec.kind} client: {type(exc).__name__}: {exc}"))


async def _client_main(spec: ClientSpec, pipe: Connection) -> None:
    arrivals: dict[int, list[float]] = defaultdict(list)
    limit = asyncio.Semaphore(CONNECT_CONCURRENCY)
    tasks: list[asyncio.Task[None]] = []

    async def one() -> None:
        ready = asyncio.Event()
        async with limit:
            task = asyncio.create_task(_subscriber(spec, arrivals, ready))
            tasks.append(task)
            waiter = asyncio.create_task(ready.wait())
            done, _ = await asyncio.wait({task, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if task in done:
                task.result()  # raises what went wrong

    await asyncio.gather(*(one() for _ in range(spec.count)))
    pipe.send(("ready", spec.count))
    while True:
        command = await asyncio.to_thread(pipe.recv)
        if command[0] == "wait":
            seqs, deadline = command[1], time.monotonic() + command[2]
            while time.monotonic() < deadline and not _complete(arrivals, seqs, spec.count):
                await asyncio.sleep(0.02)
            for task in tasks:
                if task.done() and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
            pipe.send(("waited", _complete(arrivals, seqs, spec.count)))
        elif command[0] == "dump":
            pipe.send(("arrivals", dict(arrivals)))
            break
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def _complete(arrivals: dict[int, list[float]], seqs: list[int], count: int) -> bool:
    return all(len(arrivals.get(s, ())) >= count for s in seqs)


async def _subscriber(spec: ClientSpec, arrivals: dict[int, list[float]], ready: asyncio.Event):
    from websockets.asyncio.client import connect

    async with connect(spec.url, max_queue=None, open_timeout=60) as ws:
        if spec.kind == "baseline":
            await ws.send("ping" if spec.idle else "sub")
            async for raw in ws:
                if raw == "ok":
                    ready.set()
                    continue
                now = time.monotonic()
                arrivals[int(raw)].append(now)
            return
        hello = json.loads(await ws.recv())
        if spec.idle:
            ready.set()
            await asyncio.Future()  # hold the connection until cancelled
        socket_id = json.loads(hello["data"])["socket_id"]
        auth = await asyncio.to_thread(_authorize, spec, socket_id)
        await ws.send(json.dumps({"event": "pusher:subscribe",
                                  "data": {"auth": auth, "channel": CHANNEL}}))  # fmt: skip
        async for raw in ws:
            now = time.monotonic()
            message = json.loads(raw)
            event = message.get("event")
            if event == "insert" and message.get("channel") == CHANNEL:
                data = message["data"]
                change = json.loads(data) if isinstance(data, str) else data
                arrivals[int(change["new"]["seq"])].append(now)
            elif event == "pusher_internal:subscription_succeeded":
                ready.set()
            elif event == "pusher:error":
                raise RuntimeError(f"the server refused: {message}")


def _authorize(spec: ClientSpec, socket_id: str) -> str:
    body = urllib.parse.urlencode({"socket_id": socket_id, "channel_name": CHANNEL}).encode()
    for _ in range(50):
        req = urllib.request.Request(
            spec.gateway + "/realtime/v1/auth",
            data=body,
            headers={
                "apikey": spec.service_key,
                "Authorization": f"Bearer {spec.service_key}",
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


class Clients:
    """`total` connections spread over `workers` client processes."""

    def __init__(self, spec: ClientSpec, total: int, workers: int) -> None:
        ctx = multiprocessing.get_context("spawn")
        n = max(1, min(workers, total))
        counts = [total // n + (1 if i < total % n else 0) for i in range(n)]
        self.pipes: list[Connection] = []
        self.procs = []
        for count in counts:
            mine, theirs = ctx.Pipe()
            share = ClientSpec(spec.kind, spec.url, count, spec.idle, spec.gateway,
                               spec.service_key)  # fmt: skip
            proc = ctx.Process(target=client_process, args=(share, theirs), daemon=True)
            proc.start()
            self.pipes.append(mine)
            self.procs.append(proc)

    async def ready(self) -> None:
        for pipe in self.pipes:
            await self._answer(pipe, "ready")

    async def wait(self, seqs: list[int], timeout: float) -> bool:
        for pipe in self.pipes:
            pipe.send(("wait", seqs, timeout))
        return all([await self._answer(pipe, "waited") for pipe in self.pipes])

    async def dump(self) -> dict[int, list[float]]:
        merged: dict[int, list[float]] = defaultdict(list)
        for pipe in self.pipes:
            pipe.send(("dump",))
        for pipe in self.pipes:
            for seq, times in (await self._answer(pipe, "arrivals")).items():
                merged[seq] += times
        for proc in self.procs:
            proc.join(30)
        return merged

    def close(self) -> None:
        for proc in self.procs:
            if proc.is_alive():
                proc.terminate()
            proc.join(10)

    @staticmethod
    async def _answer(pipe: Connection, expected: str) -> Any:
        kind, value = await asyncio.to_thread(pipe.recv)
        if kind == "error":
            raise RuntimeError(f"a client process failed: {value}")
        if kind != expected:
            raise RuntimeError(f"a client process answered {kind}, expected {expected}")
        return value


async def run_scenario(
    spec: ClientSpec,
    publish: Callable[[int], Awaitable[None]],
    rows: int,
    gap_s: float,
    workers: int,
) -> tuple[dict[int, float], dict[int, list[float]]]:
    """Connect `spec.count` subscribers, publish `rows` rows; return (sent, arrivals)."""
    clients = Clients(spec, spec.count, workers)
    sent: dict[int, float] = {}
    try:
        await clients.ready()
        await asyncio.sleep(0.5)  # let the server settle after the connection storm
        for seq in WARMUP:  # warm-up rows, not counted: also outlast the card's replay
            sent[seq] = time.monotonic()  # grace after a fresh boot
            await publish(seq)
        if not await clients.wait(list(WARMUP), WARMUP_WAIT_S):
            print("   (warm-up rows not all delivered)", flush=True)
        for seq in range(rows):
            sent[seq] = time.monotonic()
            await publish(seq)
            await asyncio.sleep(gap_s)
        await clients.wait(list(range(rows)), DELIVERY_WAIT_S)
        return sent, await clients.dump()
    finally:
        clients.close()


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
    last_p50: float  # per row, the slowest subscriber
    last_p99: float
    delivered: int
    expected: int


def figures(sent: dict[int, float], arrivals: dict[int, list[float]], rows: int, subs: int):
    every, last = [], []
    for seq in range(rows):
        times = [(t - sent[seq]) * 1000 for t in arrivals.get(seq, [])]
        every += times
        if times:
            last.append(max(times))
    return Figures(
        percentile(every, 50),
        percentile(every, 99),
        percentile(last, 50),
        percentile(last, 99),
        len(every),
        rows * subs,
    )


@dataclass(frozen=True, slots=True)
class Memory:
    connections: int
    uss_kb: float  # per connection
    pss_kb: float
    rss_kb: float


def memory_sample(pid: int) -> tuple[int, int, int]:
    import psutil

    info = psutil.Process(pid).memory_full_info()
    return info.uss, info.pss, info.rss


async def idle_memory(spec: ClientSpec, pid: int, workers: int) -> Memory:
    """Open `spec.count` idle connections; the server's memory growth per connection."""
    await asyncio.sleep(SETTLE_S)
    before = memory_sample(pid)
    clients = Clients(spec, spec.count, workers)
    try:
        await clients.ready()
        await asyncio.sleep(SETTLE_S)
        after = memory_sample(pid)
        await clients.dump()
    finally:
        clients.close()
    per = [(a - b) / spec.count / 1024 for a, b in zip(after, before, strict=True)]
    return Memory(spec.count, *per)


# ---------------------------------------------------------------- baseline server


def baseline_server(port: int) -> None:
    """A bare websockets broadcast server: `sub` subscribes, `pub:<seq>` broadcasts."""
    from websockets.asyncio.server import broadcast, serve
    from websockets.exceptions import ConnectionClosed

    raise_fd_limit()
    subscribers: set[object] = set()

    async def handler(ws) -> None:  # type: ignore[no-untyped-def]
        try:
            async for message in ws:
                if message == "sub":
                    subscribers.add(ws)
                    await ws.send("ok")
                elif message == "ping":
                    await ws.send("ok")
                elif message.startswith("pub:"):
                    broadcast(subscribers, message[4:])  # type: ignore[arg-type]
        except ConnectionClosed:
            pass  # a subscriber cancelled at the end of a scenario
        finally:
            subscribers.discard(ws)

    async def main() -> None:
        async with serve(handler, "127.0.0.1", port, compression=None, max_queue=16):
            await asyncio.Future()

    asyncio.run(main())


@contextmanager
def baseline() -> Iterator[tuple[str, int]]:
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
        yield f"ws://127.0.0.1:{port}", proc.pid
    finally:
        proc.terminate()
        proc.wait(10)


# ---------------------------------------------------------------- main


async def measure(
    board: Board, db_dsn: str, base: tuple[str, int], opts: argparse.Namespace
) -> tuple[dict[str, Figures], dict[str, Memory]]:
    import psycopg
    from websockets.asyncio.client import connect

    base_url, base_pid = base
    gap = opts.gap_ms / 1000
    latency: dict[str, Figures] = {}
    memory: dict[str, Memory] = {}
    pusher = ClientSpec("pusher", board.ws_url, 1, False, board.gateway, board.service_key)
    bare = ClientSpec("baseline", base_url, 1)
    scenarios = []
    if "latency" in opts.only:
        scenarios.append(("1 subscriber", 1, opts.inserts, gap))
    if "fanout" in opts.only:
        label = f"{opts.subscribers} subscribers"
        scenarios.append((label, opts.subscribers, opts.fanout_inserts, max(gap, 0.25)))
    async with await psycopg.AsyncConnection.connect(db_dsn, autocommit=True) as conn:

        async def insert(seq: int) -> None:
            await conn.execute("INSERT INTO bench (seq, note) VALUES (%s, 'x')", (seq,))

        async with connect(base_url) as pub:

            async def base_publish(seq: int) -> None:
                await pub.send(f"pub:{seq}")

            for label, subs, rows, gap_s in scenarios:
                print(f"-- {label}: {rows} rows, {gap_s * 1000:.0f} ms apart ...", flush=True)
                for name, spec, publish in (
                    ("baseline", bare, base_publish),
                    ("MagWS", pusher, insert),
                ):
                    sent, arrivals = await run_scenario(
                        _with_count(spec, subs), publish, rows, gap_s, opts.workers
                    )
                    latency[f"{label} {name}"] = figures(sent, arrivals, rows, subs)
    if "idle" in opts.only:
        print(f"-- {opts.idle} idle connections ...", flush=True)
        gc.collect()
        for name, spec, pid in (
            ("baseline", bare, base_pid),
            ("MagWS", pusher, listener_pid(board.ws_port)),
        ):
            idle = ClientSpec(spec.kind, spec.url, opts.idle, True)
            memory[f"{opts.idle} idle {name}"] = await idle_memory(idle, pid, opts.workers)
    return latency, memory


def _with_count(spec: ClientSpec, count: int) -> ClientSpec:
    return ClientSpec(spec.kind, spec.url, count, spec.idle, spec.gateway, spec.service_key)


def report(latency: dict[str, Figures], memory: dict[str, Memory]) -> None:
    if latency:
        print(
            f"\n{'scenario':<30}{'p50 ms':>9}{'p99 ms':>9}{'last p50':>10}{'last p99':>10}"
            f"{'delivered':>14}"
        )
    for name, f in latency.items():
        print(
            f"{name:<30}{f.p50:>9.2f}{f.p99:>9.2f}{f.last_p50:>10.2f}{f.last_p99:>10.2f}"
            f"{f'{f.delivered}/{f.expected}':>14}"
        )
    for label in sorted({k.rsplit(" ", 1)[0] for k in latency}):
        base, magws = latency[f"{label} baseline"], latency[f"{label} MagWS"]
        print(
            f"{label}: MagWS/baseline p50 {magws.p50 / base.p50:.1f}x, "
            f"p99 {magws.p99 / base.p99:.1f}x, last-subscriber p99 "
            f"{magws.last_p99 / base.last_p99:.1f}x"
        )
    if memory:
        print(f"\n{'idle connections':<30}{'USS KB':>9}{'PSS KB':>9}{'RSS KB':>9}  per connection")
    for name, m in memory.items():
        print(f"{name:<30}{m.uss_kb:>9.1f}{m.pss_kb:>9.1f}{m.rss_kb:>9.1f}")
    print(f"\nload average at the end: {os.getloadavg()}")


def _scenarios(text: str) -> tuple[str, ...]:
    chosen = tuple(word.strip() for word in text.split(",") if word.strip())
    unknown = set(chosen) - set(SCENARIOS)
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"choose among {', '.join(SCENARIOS)}")
    return chosen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dsn", default=DSN)
    parser.add_argument("--inserts", type=int, default=300)
    parser.add_argument("--fanout-inserts", type=int, default=40)
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--gap-ms", type=float, default=20.0)
    parser.add_argument("--idle", type=int, default=5000)
    parser.add_argument("--workers", type=int, default=4, help="client processes")
    parser.add_argument(
        "--only", type=_scenarios, default=SCENARIOS, help="e.g. latency,idle (default: all)"
    )
    parser.add_argument(
        "--magws-compression", action="store_true", help="boot MagWS with compression = true"
    )
    parser.add_argument("--baseline-server", type=int, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.baseline_server:
        baseline_server(opts.baseline_server)
        return
    limit = raise_fd_limit()
    if limit < opts.idle + 1000:
        parser.error(f"the open-files limit is {limit}: raise it (ulimit -Hn) for --idle")
    print(f"load average at the start: {os.getloadavg()}", flush=True)
    with (
        throwaway_database(opts.dsn, "rt", [BENCH_TABLE]) as db_dsn,
        magflock_board(db_dsn, opts.magws_compression) as board,
        baseline() as b,
    ):
        report(*asyncio.run(measure(board, db_dsn, b, opts)))


if __name__ == "__main__":
    main()
