"""`/rest/v1` with the newer PostgREST grammar, on every engine: JSON paths, (any)/(all),
match/imatch, isdistinct, full-text search, array and range operators, aggregates and
`Prefer: timezone`. What an engine cannot do is 400 `PGRST127` naming the engine.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import quote

import pytest

from mobo.kernel.config import load_config
from tests.gateway.rest_support import PG_GRANTS, Board, make_board, prepare_postgres, store_with


def ddl(engine: str) -> list[str]:
    if engine == "postgres":
        return [
            "CREATE TABLE docs (id INTEGER PRIMARY KEY, name TEXT, doc JSONB, team TEXT, "
            "amount NUMERIC(10,2), tags TEXT[], span INT4RANGE, body TSVECTOR, "
            "created TIMESTAMPTZ)",
            "INSERT INTO docs VALUES "
            '(1, \'Alice\', \'{"age":30,"blood":"A-","tags":["x","y"],'
            "\"pet\":{\"name\":\"Rex\"}}', 'red', 10.50, '{a,b}', '[1,10)', "
            "to_tsvector('english', 'fat cats ate rats'), '2024-01-01T12:00:00Z'), "
            '(2, \'bob\', \'{"age":17,"blood":"B+","tags":["y"]}\', \'blue\', 4.25, '
            "'{b,c}', '[20,30)', to_tsvector('english', 'the quick brown fox'), NULL), "
            "(3, 'Carol', '{\"age\":9,\"tags\":[]}', 'red', NULL, '{}', '[10,20)', NULL, NULL), "
            "(4, 'Dave', NULL, NULL, 1.00, NULL, NULL, to_tsvector('english', 'a fat fox'), NULL)",
        ]
    text = "VARCHAR(50)" if engine == "mysql" else "TEXT"
    return [
        f"CREATE TABLE docs (id INTEGER PRIMARY KEY, name {text}, doc JSON, team {text}, "
        "amount DECIMAL(10,2))",
        "INSERT INTO docs VALUES "
        '(1, \'Alice\', \'{"age":30,"blood":"A-","tags":["x","y"],'
        '"pet":{"name":"Rex"}}\', \'red\', 10.50), '
        '(2, \'bob\', \'{"age":17,"blood":"B+","tags":["y"]}\', \'blue\', 4.25), '
        "(3, 'Carol', '{\"age\":9,\"tags\":[]}', 'red', NULL), "
        "(4, 'Dave', NULL, NULL, 1.00)",
    ]


@pytest.fixture(scope="module", params=["sqlite", "postgres", "mysql"])
def board(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    engine = request.param
    tmp = tmp_path_factory.mktemp(engine)
    with store_with(engine, tmp, ddl(engine)) as (settings, adapter):
        if engine == "postgres":
            prepare_postgres(adapter, list(PG_GRANTS))
        make_board(tmp / "home", settings)
        config = load_config(tmp / "home", environ={"MOBO_GATEWAY_AGGREGATES": "true"})
        assert config.gateway.aggregates is True
        b = Board(config)
        b.engine = engine  # type: ignore[attr-defined]
        yield b
        b.close()


def get(board: Board, query: str, **kw: object):  # type: ignore[no-untyped-def]
    return board.get("docs?" + query, **kw)  # type: ignore[arg-type]


def ids(board: Board, query: str) -> list[int]:
    got = get(board, "select=id&order=id&" + query)
    assert got.status_code == 200, got.text
    return [row["id"] for row in got.json]


def refused(board: Board, query: str) -> dict:
    got = get(board, query)
    assert got.status_code == 400, got.text
    assert got.json["code"] == "PGRST127", got.json
    assert board.engine in got.json["details"]  # type: ignore[attr-defined]
    return got.json


# -- JSON paths -----------------------------------------------------------------------------


def test_select_json_paths(board: Board) -> None:
    got = get(board, "select=id,doc->>blood,doc->tags,pet:doc->pet->>name,doc->tags->0&order=id")
    assert got.status_code == 200, got.text
    assert got.json[0] == {"id": 1, "blood": "A-", "tags": ["x", "y"], "pet": "Rex", "0": "x"}
    assert got.json[3] == {"id": 4, "blood": None, "tags": None, "pet": None, "0": None}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("doc->>blood=eq.A-", [1]),
        ("doc->>blood=like.*%2B", [2]),
        ("doc->>blood=is.null", [3, 4]),
        ("doc->pet->>name=eq.Rex", [1]),
        ("doc->tags->>0=eq.y", [2]),
        ("doc->age=eq.30", [1]),
        ("doc->age=in.(9,17)", [2, 3]),
        ("doc->blood=eq.%22B%2B%22", [2]),
        ("doc->>blood=not.eq.A-", [2]),
        ("or=(doc->>blood.eq.A-,name.eq.Dave)", [1, 4]),
        ("doc->>age=in.(9,30)", [1, 3]),
    ],
)
def test_json_path_filters(board: Board, query: str, expected: list[int]) -> None:
    assert ids(board, query) == expected


def test_order_by_json_paths(board: Board) -> None:
    got = get(board, "select=id&order=doc->>blood.desc.nullslast,id")
    assert [r["id"] for r in got.json] == [2, 1, 3, 4]
    if board.engine == "postgres":  # type: ignore[attr-defined]
        got = get(board, "select=id&order=doc->age.asc.nullsfirst")
        assert [r["id"] for r in got.json] == [4, 3, 2, 1]
        assert ids(board, "doc->age=gt.10") == [1, 2]
    else:
        refused(board, "select=id&order=doc->age")
        refused(board, "doc->age=gt.10")


def test_sql_in_a_json_key_is_inert(board: Board) -> None:
    key = quote('doc->>"x\');drop table docs;--"')
    assert ids(board, f"{key}=eq.1") == []
    got = get(board, f"select=id,{key}&id=eq.1")
    assert got.status_code == 200, got.text
    assert ids(board, "") == [1, 2, 3, 4]


def test_text_step_before_the_last_is_a_parse_error(board: Board) -> None:
    got = get(board, "doc->>pet->name=eq.Rex")
    assert (got.status_code, got.json["code"]) == (400, "PGRST100")


# -- operators ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("name=like(any).{A*,C*}", [1, 3]),
        ("name=ilike(all).{*A*,*L*}", [1, 3]),
        ("name=eq(any).{bob,Dave}", [2, 4]),
        ("id=gt(all).{1,2}", [3, 4]),
        ("name=not.eq(any).{bob}", [1, 3, 4]),
        ("name=match.^[A-C]", [1, 3]),
        ("name=imatch.^[a-c]", [1, 2, 3]),
        ("team=isdistinct.red", [2, 4]),
        ("team=not.isdistinct.red", [1, 3]),
        ("or=(name.match.^D,team.isdistinct.red)", [2, 4]),
        ("doc->>blood=imatch.^a", [1]),
    ],
)
def test_operators_on_every_engine(board: Board, query: str, expected: list[int]) -> None:
    assert ids(board, query) == expected


def test_malformed_array_literal(board: Board) -> None:
    got = get(board, "name=eq(any).bob")
    assert (got.status_code, got.json["code"]) == (400, "22P02")


POSTGRES_ONLY = [
    ("body=fts.cat", [1]),
    ("body=fts(english).fat%20%26%20fox", [4]),
    ("body=plfts(english).fat%20rats", [1]),
    ("body=phfts(english).quick%20brown", [2]),
    ("body=wfts(english).fat%20-cats", [4]),
    ("body=not.fts.fox", [1]),
    ("tags=cs.{b}", [1, 2]),
    ("tags=cd.{a,b,z}", [1, 3]),
    ("tags=ov.{c,z}", [2]),
    ("span=ov.[8,12)", [1, 3]),
    ("span=sl.[15,40)", [1]),
    ("span=sr.[0,5)", [2, 3]),
    ("span=nxr.[0,20)", [1, 3]),
    ("span=nxl.[10,40)", [2, 3]),
    ("span=adj.[30,40)", [2]),
    ("doc->tags=cs.[%22x%22]", [1]),
]


@pytest.mark.parametrize(("query", "expected"), POSTGRES_ONLY)
def test_postgres_operators(board: Board, query: str, expected: list[int]) -> None:
    if board.engine != "postgres":  # type: ignore[attr-defined]
        pytest.skip("tsvector, array and range columns exist on PostgreSQL only")
    assert ids(board, query) == expected


def test_postgres_operators_are_refused_elsewhere(board: Board) -> None:
    if board.engine == "postgres":  # type: ignore[attr-defined]
        pytest.skip("PostgreSQL runs them")
    assert "full-text search" in refused(board, "name=fts(english).alice")["details"]
    refused(board, "name=ov.{a}")
    refused(board, "team=adj.[1,2)")


def test_json_containment(board: Board) -> None:
    query = "doc=cs.%7B%22tags%22:[%22y%22]%7D"
    if board.engine == "sqlite":  # type: ignore[attr-defined]
        refused(board, query)
    else:
        assert ids(board, query) == [1, 2]


def test_bad_regex_is_a_400(board: Board) -> None:
    got = get(board, "name=match.(unclosed")
    assert got.status_code == 400, got.text


# -- aggregates -----------------------------------------------------------------------------


def test_aggregates_group_by_the_other_columns(board: Board) -> None:
    got = get(board, "select=team,count(),amount.sum(),top:id.max()&order=team.nullsfirst")
    assert got.status_code == 200, got.text
    rows = [(r["team"], r["count"], Decimal(str(r["sum"])), r["top"]) for r in got.json]
    assert rows == [
        (None, 1, Decimal("1.00"), 4),
        ("blue", 1, Decimal("4.25"), 2),
        ("red", 2, Decimal("10.50"), 3),
    ]


def test_aggregates_without_groups_and_casts(board: Board) -> None:
    got = get(board, "select=count(),amount.avg()::int,total:amount.sum()&doc->>blood=is.null")
    assert got.status_code == 200, got.text
    (row,) = got.json
    assert (row["count"], row["avg"], Decimal(str(row["total"]))) == (2, 1, Decimal("1.00"))


def test_aggregate_groups_are_counted(board: Board) -> None:
    got = get(board, "select=team,count()", headers={"Prefer": "count=exact", "Range": "0-0"})
    assert got.status_code == 206, got.text
    assert got.headers["Content-Range"] == "0-0/3"


def test_aggregate_by_a_json_path(board: Board) -> None:
    got = get(board, "select=blood:doc->>blood,count()&order=doc->>blood.nullslast")
    assert got.status_code == 200, got.text
    assert got.json == [
        {"blood": "A-", "count": 1},
        {"blood": "B+", "count": 1},
        {"blood": None, "count": 2},
    ]


def test_aggregates_are_off_by_default(tmp_path_factory: pytest.TempPathFactory) -> None:
    tmp = tmp_path_factory.mktemp("off")
    with store_with("sqlite", tmp, ddl("sqlite")) as (settings, _):
        board = Board(make_board(tmp / "home", settings))
        try:
            got = board.get("docs?select=count()")
            assert (got.status_code, got.json["code"]) == (400, "PGRST123")
            assert board.get("docs?select=doc->>blood").status_code == 200
        finally:
            board.close()


# -- Prefer: timezone -----------------------------------------------------------------------


def test_prefer_timezone_applies_to_timestamptz_on_postgres(board: Board) -> None:
    if board.engine != "postgres":  # type: ignore[attr-defined]
        pytest.skip("timestamptz output follows the session's TimeZone on PostgreSQL")
    query = "select=created&id=eq.1"
    got = get(board, query, headers={"Prefer": "timezone=Asia/Tokyo"})
    assert got.status_code == 200, got.text
    assert got.json == [{"created": "2024-01-01T21:00:00+09:00"}]
    assert got.headers["Preference-Applied"] == "timezone=Asia/Tokyo"
    # the zone was transaction-local: the next request on the pool is in UTC again
    for _ in range(3):
        assert get(board, query).json == [{"created": "2024-01-01T12:00:00+00:00"}]
    bad = get(board, query, headers={"Prefer": "timezone=Mars/Olympus"})
    assert bad.json == [{"created": "2024-01-01T12:00:00+00:00"}]  # ignored, as PostgREST
    strict = get(board, query, headers={"Prefer": "handling=strict, timezone=Mars/Olympus"})
    assert (strict.status_code, strict.json["code"]) == (400, "PGRST122")


def test_aggregates_in_an_embed_are_per_parent(tmp_path_factory: pytest.TempPathFactory) -> None:
    tmp = tmp_path_factory.mktemp("embedagg")
    statements = [
        "CREATE TABLE authors (id INTEGER PRIMARY KEY, name TEXT)",
        "CREATE TABLE books (id INTEGER PRIMARY KEY, pages INTEGER,"
        " author_id INTEGER REFERENCES authors(id))",
        "INSERT INTO authors VALUES (1, 'a'), (2, 'b'), (3, 'c')",
        "INSERT INTO books VALUES (1, 10, 1), (2, 20, 1), (3, 5, 2)",
    ]
    with store_with("sqlite", tmp, statements) as (settings, _):
        make_board(tmp / "home", settings)
        board = Board(load_config(tmp / "home", environ={"MOBO_GATEWAY_AGGREGATES": "true"}))
        try:
            got = board.get("authors?select=name,books(count(),pages.sum())&order=id")
            assert got.status_code == 200, got.text
            assert got.json == [
                {"name": "a", "books": [{"count": 2, "sum": 30}]},
                {"name": "b", "books": [{"count": 1, "sum": 5}]},
                {"name": "c", "books": []},
            ]
            got = board.get("authors?select=count(),books(id)")
            assert (got.status_code, got.json["code"]) == (400, "PGRST127")
        finally:
            board.close()
