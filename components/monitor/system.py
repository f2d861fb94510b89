"""The system part of the health report: uptime, load, memory, per-card CPU and RSS."""

from __future__ import annotations

import os
import time
from typing import Any

import psutil


class SystemSampler:
    """Samples the machine and each card's process tree (CPU needs two samples)."""

    def __init__(self) -> None:
        self._procs: dict[int, psutil.Process] = {}

    def sample(self, pids: dict[str, int | None], booted_at: float | None) -> dict[str, Any]:
        memory = psutil.virtual_memory()
        cards = {name: self._card(pid) for name, pid in pids.items() if pid}
        return {
            "time": time.time(),
            "uptime_s": round(time.time() - booted_at, 1) if booted_at else None,
            "load": [round(x, 2) for x in os.getloadavg()],
            "memory": {
                "total_mb": memory.total // 1_048_576,
                "used_mb": (memory.total - memory.available) // 1_048_576,
                "percent": memory.percent,
            },
            "cards": cards,
        }

    def _card(self, pid: int) -> dict[str, Any]:
        try:
            root = self._process(pid)
            tree = [root, *(self._process(c.pid) for c in root.children(recursive=True))]
            cpu = sum(p.cpu_percent(None) for p in tree)
            rss = sum(p.memory_info().rss for p in tree)
            conns = sum(len(p.net_connections(kind="inet")) for p in tree)
        except psutil.Error:
            return {"pid": pid, "cpu_percent": None, "rss_mb": None, "connections": None}
        return {
            "pid": pid,
            "processes": len(tree),
            "cpu_percent": round(cpu, 1),
            "rss_mb": round(rss / 1_048_576, 1),
            "connections": conns,
        }

    def _process(self, pid: int) -> psutil.Process:
        proc = self._procs.get(pid)
        if proc is None or not proc.is_running():
            proc = self._procs[pid] = psutil.Process(pid)
        return proc
