"""Boards for the REST end-to-end tests: one per engine, shared by this folder's modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.boards import ENGINES, RestBoard, rest_board


@pytest.fixture(scope="session", params=ENGINES)
def rest(request: pytest.FixtureRequest) -> Iterator[RestBoard]:
    """A booted board whose `main` store is a throwaway database of each engine."""
    with rest_board(request.param) as board:
        yield board
