"""`GET /rest/v1/t?col=match.…` on a SQLite store: a catastrophic pattern is a 400, not a
stuck worker or a 500 (the datastore side is in tests/datastore/test_regex_bound.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from mobo.kernel.config import load_config
from tests.gateway.rest_support import Board, make_board, store_with

DDL = [
    "CREATE TABLE t (id INTEGER PRIMARY KEY, col TEXT)",
    "INSERT INTO t VALUES (1, 'Alice'), (2, '" + "a" * 40 + "!')",
]


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Board]:
    tmp = tmp_path_factory.mktemp("regex")
    with store_with("sqlite", tmp, DDL) as (settings, _):
        make_board(tmp / "home", settings)
        b = Board(load_config(tmp / "home", environ={}))
        yield b
        b.close()


def error_body(board: Board, query: str) -> dict:
    got = board.get("t?" + query)
    assert got.status_code == 400, got.text
    assert set(got.json) == {"code", "message", "details", "hint"}, got.json
    assert got.json["code"] == "2201B", got.json
    return got.json


@pytest.mark.parametrize("op", ["match", "imatch"])
def test_a_catastrophic_pattern_is_a_400_naming_the_filter(board: Board, op: str) -> None:
    body = error_body(board, f"col={op}.(a%7Caa)%2B$")  # (a|aa)+$
    assert body["message"] == (
        f"regular expression of the {op} filter took too long; simplify the pattern"
    )
    assert "(a|aa)+$" in body["details"]
    assert "nested" in body["hint"]


def test_nested_plus_is_answered(board: Board) -> None:
    got = board.get("t?select=id&col=match.(a%2B)%2B$")  # (a+)+$: regex does not backtrack
    assert got.status_code == 200, got.text
    assert got.json == []


def test_a_pattern_too_big_to_compile_is_a_400(board: Board) -> None:
    body = error_body(board, "col=match.((a%7B100%7D)%7B100%7D)%7B100%7D")
    assert body["message"] == "invalid regular expression: regular expression is too complex"


def test_an_invalid_pattern_is_a_400(board: Board) -> None:
    assert error_body(board, "col=match.(unclosed")["message"].startswith(
        "invalid regular expression"
    )


def test_a_normal_pattern_still_matches(board: Board) -> None:
    got = board.get("t?select=id&col=imatch.^ALI")
    assert got.status_code == 200, got.text
    assert got.json == [{"id": 1}]
