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
        children = _children_map()
        cards = {name: self._card(pid, children) for name, pid in pids.items() if pid}
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

    def _card(self, pid: int, children: dict[int, list[int]]) -> dict[str, Any]:
        try:
            tree = [self._process(p) for p in _descendants(pid, children)]
            cpu = sum(p.cpu_percent(None) for p in tree)
            rss = sum(p.memory_info().rss for p in tree)
            conns = sum(_sockets(p.pid) for p in tree)
        except psutil.Error:
            return {"pid": pid, "cpu_percent": None, "rss_mb": None, "sockets": None}
        return {
            "pid": pid,
            "processes": len(tree),
            "cpu_percent": round(cpu, 1),
            "rss_mb": round(rss / 1_048_576, 1),
            "sockets": conns,
        }

    def _process(self, pid: int) -> psutil.Process:
        proc = self._procs.get(pid)
        if proc is None or not proc.is_running():
            proc = self._procs[pid] = psutil.Process(pid)
        return proc


def _children_map() -> dict[int, list[int]]:
    """Map each pid to its children, reading the process table once per round."""
    children: dict[int, list[int]] = {}
    for proc in psutil.process_iter(["ppid"]):
        children.setdefault(proc.info["ppid"], []).append(proc.pid)
    return children


def _descendants(pid: int, children: dict[int, list[int]]) -> list[int]:
    out, stack = [], [pid]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(children.get(current, ()))
    return out


def _sockets(pid: int) -> int:
    """Count a process's open sockets (TCP, unix) from /proc: cheap, unlike psutil's
    net_connections, which maps every socket of the machine to its process."""
    fd_dir = f"/proc/{pid}/fd"
    try:
        names = os.listdir(fd_dir)
    except OSError:
        return 0
    count = 0
    for name in names:
        try:
            count += os.readlink(f"{fd_dir}/{name}").startswith("socket:")
        except OSError:
            continue
    return count
