"""The `worker` card: an RQ worker on the board's namespaced queues."""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys

from mobo.contract import Board, Card, Check
from mobo.kernel.keys import Keys


def queue_names(keys: Keys, names: tuple[str, ...]) -> list[str]:
    """Return the board's RQ queue names (namespaced, so boards never share jobs)."""
    return [keys.queue(name) for name in names]


PR_SET_PDEATHSIG = 1  # prctl(2): the signal a child gets when its parent dies


def die_with_parent() -> None:
    """In a forked child (RQ's work horse, its scheduler): SIGTERM when the worker dies.

    A `kill -9` of the worker would otherwise leave its scheduler looping for ever and a
    horse finishing a job RQ has already failed or handed to another worker.
    """
    if not sys.platform.startswith("linux"):
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: the children outlive a killed worker
        return
    if os.getppid() != _forker[0]:  # the worker died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


_forker = [0]  # pid of the process that forked (set just before each fork)


def _remember_forker() -> None:
    _forker[0] = os.getpid()


class WorkerCard(Card):
    name = "worker"

    def health(self, board: Board) -> Check:
        worker = getattr(self, "_worker", None)
        if worker is None:
            return Check(self.name, False, "worker not started")
        return Check(self.name, True, f"state {worker.get_state()}")

    def probe(self, board: Board, pid: int | None) -> Check:
        """The runner's heartbeat plus RQ's own worker registration."""
        beat = super().probe(board, pid)
        if not beat.ok:
            return beat
        names = [n.decode() for n in board.redis.smembers("rq:workers")]
        prefix = f"rq:worker:{board.keys.prefix}:"
        mine = [n for n in names if n.startswith(prefix) and n.endswith(f":{pid}")]
        if not mine:
            return Check(self.name, False, f"no RQ worker registered for pid {pid}")
        return Check(self.name, True, f"RQ worker {mine[0].rsplit(':', 1)[-1]} registered")

    def run(self, board: Board) -> None:
        from rq import Queue, Worker

        from components.worker.declared import host
        from mobo.kernel.redisconn import connect

        jobs = host(board)
        os.register_at_fork(before=_remember_forker, after_in_child=die_with_parent)
        conn = connect(board.redis_url, timeout=None)
        queues = [
            Queue(name, connection=conn)
            for name in queue_names(board.keys, board.config.worker.queues)
        ]
        name = f"{board.keys.prefix}:{socket.gethostname()}:{os.getpid()}"
        self._worker = Worker(queues, connection=conn, name=name, job_class=jobs)
        board.ready(detail=f"queues: {', '.join(board.config.worker.queues)}")
        self._worker.work(with_scheduler=True, logging_level=board.config.log.level.upper())


CARD = WorkerCard()
