"""Benchmark the bus across two processes against raw redis-py pub/sub.

Run: `.venv/bin/python bench/bus.py [--redis-url URL] [--latency N] [--throughput N]`

Two measurements, each for `Bus` and for a raw redis-py baseline (PUBLISH in a loop,
`pubsub.get_message()` loop on the other side), with the same payload size:

- latency: the publisher (this process) sends N events paced 1 ms apart, each carrying
  `time.time_ns()`; the subscriber process stamps `time.time_ns()` on receipt (inside a
  `Bus.on` handler, so the listener thread, dispatcher and handler pool are included).
  Both processes run on one host and read the same CLOCK_REALTIME, so the difference is
  the one-way emit→handler latency; a round-trip echo halved would double the hops and
  add the echo's own emit, and `perf_counter_ns` is not comparable across processes.
- throughput: the publisher sends N events as fast as one thread can; the subscriber
  counts what it receives. Delivered events/s = received / (last receipt - first send).

Targets (from the issue): p99 ≤ 2 ms; bus delivered throughput ≥ 70 % of raw.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import statistics
import sys
import time
import uuid
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import redis

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from mobo.events import make_event
from mobo.kernel.bus import Bus
from mobo.kernel.keys import Keys

TYPE = "api.request"
IDLE_S = 3.0  # the subscriber gives up this long after the last message


# ------------------------------------------------------------------ subscriber process


class Tally:
    """What the subscriber saw in one phase."""

    def __init__(self, expected: int) -> None:
        self.expected = expected
        self.latencies_ns: list[int] = []
        self.count = 0
        self.last_ns = 0

    def add(self, sent_ns: int | None) -> None:
        now = time.time_ns()
        if sent_ns is not None:
            self.latencies_ns.append(now - sent_ns)
        self.count += 1
        self.last_ns = now

    def done(self) -> bool:
        return self.count >= self.expected

    def result(self) -> dict[str, Any]:
        return {"count": self.count, "last_ns": self.last_ns, "lat": self.latencies_ns}


def wait_done(tally: Tally) -> None:
    seen, changed = 0, time.monotonic()
    while not tally.done() and time.monotonic() - changed < IDLE_S:
        time.sleep(0.01)
        if tally.count != seen:
            seen, changed = tally.count, time.monotonic()


def subscribe_bus(url: str, prefix: str, conn: Connection) -> None:
    current = [Tally(0)]
    with Bus(redis.Redis.from_url(url), Keys(prefix), "bench-sub") as bus:
        bus.on(TYPE, lambda event: current[0].add(event.data.get("t")))
        while (order := conn.recv()) is not None:
            current[0] = Tally(order[1])
            conn.send("ready")
            wait_done(current[0])
            conn.send(current[0].result())


def subscribe_raw(url: str, prefix: str, conn: Connection) -> None:
    client = redis.Redis.from_url(url)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(Keys(prefix).event_channel(TYPE))
    while pubsub.get_message(timeout=1.0) is None and not pubsub.subscribed:
        pass
    while (order := conn.recv()) is not None:
        phase, expected = order
        tally = Tally(expected)
        conn.send("ready")
        raw_loop(pubsub, tally, timed=phase == "latency")
        conn.send(tally.result())
    pubsub.close()


def raw_loop(pubsub: redis.client.PubSub, tally: Tally, *, timed: bool) -> None:
    while not tally.done():
        message = pubsub.get_message(timeout=IDLE_S)
        if message is None:
            return
        tally.add(json.loads(message["data"])["t"] if timed else None)


# ------------------------------------------------------------------ publisher (this process)


def envelope_size(keys: Keys) -> int:
    return len(make_event(TYPE, {"n": 0, "t": time.time_ns()}, card="bench-pub").to_json())


def raw_padding(size: int) -> str:
    """Padding that brings a raw message to the size of a bus envelope."""
    body = {"n": 0, "t": time.time_ns(), "pad": ""}
    return "x" * max(0, size - len(json.dumps(body, separators=(",", ":"))))


def publish(mode: str, client: redis.Redis, bus: Bus, keys: Keys, n: int, pace_s: float) -> int:
    channel, pad = keys.event_channel(TYPE), raw_padding(envelope_size(keys))
    started = time.time_ns()
    for i in range(n):
        if mode == "bus":
            bus.emit(TYPE, {"n": i, "t": time.time_ns()})
        else:  # what a plain redis-py publisher does: serialise once, PUBLISH
            body = {"n": i, "t": time.time_ns(), "pad": pad}
            client.publish(channel, json.dumps(body, separators=(",", ":")))
        if pace_s:
            time.sleep(pace_s)
    return started


def run_phase(conn: Connection, mode: str, phase: str, n: int, ctx: dict[str, Any]) -> dict:
    conn.send((phase, n))
    assert conn.recv() == "ready"
    pace = 0.001 if phase == "latency" else 0.0
    started = publish(mode, ctx["client"], ctx["bus"], ctx["keys"], n, pace)
    published = time.time_ns()
    result = conn.recv()
    result.update(started=started, published=published, sent=n)
    return result


def run_mode(mode: str, url: str, keys: Keys, n_lat: int, n_tp: int) -> dict[str, dict]:
    spawn = mp.get_context("spawn")
    parent, child = spawn.Pipe()
    target = subscribe_bus if mode == "bus" else subscribe_raw
    proc = spawn.Process(target=target, args=(url, keys.prefix, child), daemon=True)
    proc.start()
    client = redis.Redis.from_url(url)
    ctx = {"client": client, "bus": Bus(client, keys, "bench-pub"), "keys": keys}
    try:
        run_phase(parent, mode, "throughput", min(n_tp, 2000), ctx)  # warm-up
        results = {
            "latency": run_phase(parent, mode, "latency", n_lat, ctx),
            "throughput": run_phase(parent, mode, "throughput", n_tp, ctx),
        }
    finally:
        parent.send(None)
        proc.join(10)
        ctx["bus"].close()
    return results


# ------------------------------------------------------------------ report


def percentile(values: list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6 if ordered else float("nan")


def summarise(results: dict[str, dict]) -> dict[str, float]:
    lat, tp = results["latency"], results["throughput"]
    return {
        "p50_ms": percentile(lat["lat"], 0.50),
        "p99_ms": percentile(lat["lat"], 0.99),
        "mean_ms": statistics.fmean(lat["lat"]) / 1e6 if lat["lat"] else float("nan"),
        "lost": lat["sent"] - lat["count"] + tp["sent"] - tp["count"],
        "pub_per_s": tp["sent"] / ((tp["published"] - tp["started"]) / 1e9),
        "recv_per_s": tp["count"] / ((tp["last_ns"] - tp["started"]) / 1e9),
    }


def median_row(rows: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(row[key] for row in rows) for key in rows[0]}


def report(rows: dict[str, dict[str, float]], args: argparse.Namespace, size: int) -> None:
    print(
        f"bus benchmark: median of {args.rounds} interleaved rounds; {args.latency} events "
        f"paced 1 ms apart for latency, {args.throughput} unpaced for throughput; "
        f"payload {size} B; python {sys.version.split()[0]}, redis-py {redis.__version__}"
    )
    print(
        f"{'':5} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'published/s':>12} "
        f"{'delivered/s':>12} {'lost':>5}"
    )
    for name, row in rows.items():
        print(
            f"{name:5} {row['p50_ms']:8.3f} {row['p99_ms']:8.3f} {row['mean_ms']:8.3f} "
            f"{row['pub_per_s']:12,.0f} {row['recv_per_s']:12,.0f} {row['lost']:5.0f}"
        )
    ratio = rows["bus"]["recv_per_s"] / rows["raw"]["recv_per_s"]
    print(
        f"bus/raw delivered throughput: {ratio:.0%} (target >= 70 %); "
        f"bus p99 {rows['bus']['p99_ms']:.3f} ms (target <= 2 ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--latency", type=int, default=2000, help="events for latency")
    parser.add_argument("--throughput", type=int, default=20000, help="events for throughput")
    parser.add_argument("--rounds", type=int, default=3, help="bus/raw rounds, interleaved")
    args = parser.parse_args()
    keys = Keys(prefix=f"mobobench:{uuid.uuid4().hex[:12]}")
    client = redis.Redis.from_url(args.redis_url)
    runs: dict[str, list[dict[str, float]]] = {"bus": [], "raw": []}
    try:
        for _ in range(args.rounds):
            for mode, rows in runs.items():
                result = run_mode(mode, args.redis_url, keys, args.latency, args.throughput)
                rows.append(summarise(result))
    finally:
        keys.forget(client)
    report({mode: median_row(rows) for mode, rows in runs.items()}, args, envelope_size(keys))


if __name__ == "__main__":
    main()
