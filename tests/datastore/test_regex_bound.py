"""`match`/`imatch` on SQLite run bounded: a costly or oversized pattern is a 2201B error.

The regex package's timeout stops a catastrophic pattern (`(a|aa)+$` against `aaa…!`);
what reaches the caller is a QueryError with PostgreSQL's invalid_regular_expression code
(the gateway's 400), never sqlite3's "user-defined function raised exception".
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from components.datastore import Adapter, Cond, Select, bounded_regex
from mobo.exceptions import QueryError

from .conftest import open_store

DDL = [
    "CREATE TABLE words (id INTEGER PRIMARY KEY, word TEXT)",
    "INSERT INTO words VALUES (1, 'Alice'), (2, 'bob'), (3, '" + "a" * 40 + "!')",
]
CATASTROPHIC = "(a|aa)+$"  # exponential backtracking on the 40 a's of row 3


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Adapter]:
    with open_store("sqlite", tmp_path_factory.mktemp("regex"), DDL) as adapter:
        yield adapter


def ids(db: Adapter, op: str, pattern: str) -> list[int]:
    query = Select("words", ["id"], where=Cond("word", op, pattern))
    return sorted(row["id"] for row in db.execute(query).rows)


def refused(db: Adapter, op: str, pattern: str) -> QueryError:
    with pytest.raises(QueryError) as caught:
        ids(db, op, pattern)
    assert caught.value.code == "2201B", caught.value
    return caught.value


def test_a_catastrophic_pattern_is_stopped_with_a_clear_error(db: Adapter) -> None:
    error = refused(db, "match", CATASTROPHIC)
    assert "took too long" in error.message and "match filter" in error.message
    assert "simplify the pattern" in error.message
    assert CATASTROPHIC in (error.details or "")
    assert error.hint


def test_a_catastrophic_imatch_names_imatch(db: Adapter) -> None:
    assert "imatch filter" in refused(db, "imatch", CATASTROPHIC).message


def test_the_store_still_answers_after_a_timeout(db: Adapter) -> None:
    refused(db, "match", CATASTROPHIC)
    assert ids(db, "match", "^[A-C]") == [1]
    assert ids(db, "imatch", "^[a-c]") == [1, 2, 3]


def test_raw_sql_gets_the_same_error(db: Adapter) -> None:
    with pytest.raises(QueryError) as caught:
        db.raw("SELECT mobo_match(word, ?) FROM words", [CATASTROPHIC])
    assert caught.value.code == "2201B"
    assert "took too long" in caught.value.message


def test_an_invalid_pattern_is_2201b(db: Adapter) -> None:
    assert "invalid regular expression" in refused(db, "match", "(unclosed").message


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("a{256}", "invalid repetition count(s)"),  # PostgreSQL's RE_DUP_MAX is 255
        ("((a{100}){100}){100}", "regular expression is too complex"),  # GBs once unrolled
    ],
)
def test_a_pattern_postgresql_refuses_is_refused_before_it_compiles(
    db: Adapter, pattern: str, reason: str
) -> None:
    assert refused(db, "match", pattern).message == f"invalid regular expression: {reason}"


def test_normal_patterns_still_match(db: Adapter) -> None:
    assert ids(db, "match", "o") == [2]
    assert ids(db, "match", "^a+!$") == [3]
    assert ids(db, "imatch", "^ALICE$") == [1]
    assert ids(db, "match", "(a{20}){2}") == [3]  # counted repeats within the limits
    assert ids(db, "match", "(a+)+$") == []  # nested, but `regex` does not backtrack on it


def test_posix_classes_match_as_on_postgresql(db: Adapter) -> None:
    assert ids(db, "match", "^[[:upper:]]") == [1]


def test_mariadb_reports_a_bad_or_stopped_pattern_as_2201b(tmp_path: Path) -> None:
    with open_store("mysql", tmp_path, DDL) as adapter:
        refused(adapter, "match", "(unclosed")
        # PCRE2 stops at its match limit with only a warning and no match: without the
        # adapter's check, row 3 would silently be left out
        error = refused(adapter, "match", CATASTROPHIC)
        assert "took too long" in error.message and "match limit" in (error.details or "")
        assert ids(adapter, "match", "^a+!$") == [3]
        with pytest.raises(QueryError):  # a write that hit the limit changes nothing
            with adapter.transaction() as tx:  # (bob matches; row 3 is stopped)
                adapter.raw(
                    "UPDATE words SET word = 'x' WHERE word REGEXP CONCAT('(?-i)', %s)",
                    [CATASTROPHIC + "|^bob$"],
                    tx=tx,
                )
        assert ids(adapter, "match", "^x$") == []
        assert ids(adapter, "match", "^bob$") == [2]


def test_a_statement_has_one_budget_for_all_its_rows(
    db: Adapter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bounded_regex, "STATEMENT_LIMIT_S", 1e-9)  # spent by the first row
    error = refused(db, "match", "^z")
    assert "over all rows" in (error.details or "")
    monkeypatch.undo()
    assert ids(db, "match", "^b") == [2]  # the next statement gets a full budget


def test_a_pattern_is_checked_before_any_row_is_read(tmp_path: Path) -> None:
    """The compiler refuses what PostgreSQL would, even where no row calls the function."""
    with open_store(
        "sqlite", tmp_path, ["CREATE TABLE empty (id INTEGER PRIMARY KEY, w TEXT)"]
    ) as db:
        for pattern in ("a{256}", "(unclosed"):
            with pytest.raises(QueryError) as caught:
                db.execute(Select("empty", ["id"], where=Cond("w", "match", pattern)))
            assert caught.value.code == "2201B"
        assert db.execute(Select("empty", ["id"], where=Cond("w", "match", "a{255}"))).rows == []
