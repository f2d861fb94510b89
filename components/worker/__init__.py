"""The `worker` card: an RQ worker on the board's namespaced queues."""

from __future__ import annotations

import os
import socket

from mobo.contract import Board, Card, Check
from mobo.kernel.keys import Keys


def queue_names(keys: Keys, names: tuple[str, ...]) -> list[str]:
    """Return the board's RQ queue names (namespaced, so boards never share jobs)."""
    return [keys.queue(name) for name in names]


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

        from mobo.kernel.redisconn import connect

        conn = connect(board.redis_url, timeout=None)
        queues = [
            Queue(name, connection=conn)
            for name in queue_names(board.keys, board.config.worker.queues)
        ]
        name = f"{board.keys.prefix}:{socket.gethostname()}:{os.getpid()}"
        self._worker = Worker(queues, connection=conn, name=name)
        board.ready(detail=f"queues: {', '.join(board.config.worker.queues)}")
        self._worker.work(with_scheduler=True, logging_level=board.config.log.level.upper())


CARD = WorkerCard()
