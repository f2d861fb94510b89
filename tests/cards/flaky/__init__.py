"""A card that crashes at start-up, every time: for the self-healing tests."""

from __future__ import annotations

from mobo.contract import Board, Card


class FlakyCard(Card):
    name = "flaky"

    def run(self, board: Board) -> None:
        raise RuntimeError("flaky fails on purpose")


CARD = FlakyCard()
