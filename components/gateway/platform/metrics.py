"""The gateway's metrics: counted in each worker, summed over workers, shown as Prometheus text.

Each worker process counts in memory (`Metrics`); its reporter thread stores a snapshot
in Redis about every second (`<prefix>:gateway:metrics`, a field per `<host>:<pid>:<token>`).
`/metrics` adds up the fresh snapshots of every gateway worker of the board, on every
host, with the answering worker's live counts. A worker that stops is dropped once its
snapshot is older than STALE_S, which Prometheus's `rate()` sees as a counter reset.
"""

from __future__ import annotations

import bisect
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STALE_S = 30.0  # a worker snapshot older than this is left out (and removed)
SCALARS = ("limiter_failures", "events_sent", "events_dropped", "in_flight")


class Metrics:
    """One worker's counters; every method is thread-safe and takes microseconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: Counter[tuple[str, str, int]] = Counter()
        self.latency: dict[str, list[float]] = {}  # route -> bucket counts + [sum, count]
        self.limited: Counter[str] = Counter()
        self.scalars: Counter[str] = Counter()

    def enter(self) -> None:
        with self._lock:
            self.scalars["in_flight"] += 1

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count a finished request."""
        with self._lock:
            self.scalars["in_flight"] -= 1
            self.requests[(method, route, status)] += 1
            row = self.latency.get(route)
            if row is None:
                row = self.latency[route] = [0.0] * (len(LATENCY_BUCKETS_S) + 3)
            row[bisect.bisect_left(LATENCY_BUCKETS_S, seconds)] += 1
            row[-2] += seconds
            row[-1] += 1

    def count_limited(self, group: str) -> None:
        with self._lock:
            self.limited[group] += 1

    def add(self, name: str, n: int = 1) -> None:
        """Add to a scalar counter (`events_sent`, `events_dropped`, …)."""
        with self._lock:
            self.scalars[name] += n

    def snapshot(self) -> dict[str, Any]:
        """Return the counters as JSON-friendly data."""
        with self._lock:
            return {
                "requests": [[m, r, s, n] for (m, r, s), n in self.requests.items()],
                "latency": {route: list(row) for route, row in self.latency.items()},
                "limited": dict(self.limited),
                "scalars": dict(self.scalars),
            }


def merge(snapshots: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Add snapshots up into one of the same shape, with `workers` counted."""
    requests: Counter[tuple[str, str, int]] = Counter()
    latency: dict[str, list[float]] = {}
    limited: Counter[str] = Counter()
    scalars: Counter[str] = Counter()
    workers = 0
    for snap in snapshots:
        workers += 1
        for method, route, status, n in snap.get("requests", ()):
            requests[(str(method), str(route), int(status))] += int(n)
        for route, row in snap.get("latency", {}).items():
            into = latency.setdefault(route, [0.0] * len(row))
            for i, value in enumerate(row[: len(into)]):
                into[i] += value
        limited.update(snap.get("limited", {}))
        scalars.update(snap.get("scalars", {}))
    return {
        "requests": requests,
        "latency": latency,
        "limited": limited,
        "scalars": scalars,
        "workers": workers,
    }


def _label(value: object) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**pairs: object) -> str:
    return "{" + ",".join(f'{k}="{_label(v)}"' for k, v in pairs.items()) + "}"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _family(name: str, kind: str, help_: str) -> list[str]:
    return [f"# HELP {name} {help_}", f"# TYPE {name} {kind}"]


def render(merged: Mapping[str, Any]) -> str:
    """Return merged metrics in the Prometheus text exposition format (version 0.0.4)."""
    lines = _family("mobo_gateway_requests_total", "counter", "Requests served.")
    for (method, route, status), n in sorted(merged["requests"].items()):
        labels = _labels(method=method, route=route, status=status)
        lines.append(f"mobo_gateway_requests_total{labels} {n}")
    lines += _histogram(merged["latency"])
    lines += _family("mobo_gateway_rate_limited_total", "counter", "Requests refused with 429.")
    for group, n in sorted(merged["limited"].items()):
        lines.append(f"mobo_gateway_rate_limited_total{_labels(group=group)} {n}")
    scalars = merged["scalars"]
    for name, kind, help_, key in SCALAR_FAMILIES:
        lines += _family(name, kind, help_)
        lines.append(f"{name} {_number(scalars.get(key, 0))}")
    lines += _family("mobo_gateway_workers", "gauge", "Gateway worker processes reporting.")
    lines.append(f"mobo_gateway_workers {merged['workers']}")
    return "\n".join(lines) + "\n"


SCALAR_FAMILIES = (
    ("mobo_gateway_requests_in_flight", "gauge", "Requests being served now.", "in_flight"),
    (
        "mobo_gateway_rate_limit_failures_total",
        "counter",
        "Rate-limit checks that failed open because Redis did not answer.",
        "limiter_failures",
    ),
    ("mobo_gateway_events_sent_total", "counter", "api.request events published.", "events_sent"),
    (
        "mobo_gateway_events_dropped_total",
        "counter",
        "api.request events dropped (queue full or Redis unreachable).",
        "events_dropped",
    ),
)


def _histogram(latency: Mapping[str, list[float]]) -> list[str]:
    name = "mobo_gateway_request_duration_seconds"
    lines = _family(name, "histogram", "Time from request to response, by route.")
    for route, row in sorted(latency.items()):
        running = 0.0
        for bound, n in zip((*LATENCY_BUCKETS_S, "+Inf"), row[:-2], strict=True):
            running += n
            le = bound if isinstance(bound, str) else _number(bound)
            lines.append(f"{name}_bucket{_labels(route=route, le=le)} {_number(running)}")
        lines.append(f"{name}_sum{_labels(route=route)} {_number(row[-2])}")
        lines.append(f"{name}_count{_labels(route=route)} {_number(row[-1])}")
    return lines
