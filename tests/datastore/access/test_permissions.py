"""`[datastores.<store>.permissions]`: parsing, validation and loading per store."""

from __future__ import annotations

from pathlib import Path

import pytest

from components.datastore import Datastores
from components.datastore.access import load_permissions, parse_permissions
from mobo.exceptions import ConfigError
from tests.gateway.rest_support import make_board


def test_permissions_parse() -> None:
    perms = parse_permissions(
        "main", "sqlite", {"todos": {"anon": ["select"], "authenticated": ["ALL"], "owner": "uid"}}
    )
    assert perms is not None
    rule = perms.rule("todos")
    assert rule.allows("anon", "select") and not rule.allows("anon", "insert")
    assert rule.allows("authenticated", "delete") and rule.allows("service_role", "delete")
    assert rule.owned("authenticated", "select") and not rule.owned("service_role", "select")
    assert not perms.rule("other").allows("authenticated", "select")  # default: deny
    assert parse_permissions("main", "postgres", None) is None


@pytest.mark.parametrize(
    ("engine", "raw", "words"),
    [
        ("postgres", {"t": {"anon": ["select"]}}, "guarded by the database"),
        ("sqlite", ["select"], "table of tables"),
        ("sqlite", {"t": ["select"]}, "must be a table"),
        ("sqlite", {"t": {"anon": ["read"]}}, "read is not an operation"),
        ("sqlite", {"t": {"anon": "select"}}, "list of operations"),
        ("sqlite", {"t": {"service_role": ["select"]}}, "never restricted"),
        ("sqlite", {"t": {"Bad-Role": ["select"]}}, "not a role name"),
        ("mysql", {"t": {"owner_ops": ["select"]}}, "needs"),
        ("mysql", {"t": {"owner": 3}}, "column name"),
    ],
)
def test_bad_permissions_are_config_errors(engine: str, raw: object, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_permissions("main", engine, raw)
    assert words in str(caught.value) and "datastores.main.permissions" in str(caught.value)


def test_load_permissions_reads_every_store_without_opening_it(tmp_path: Path) -> None:
    main = {"engine": "sqlite", "path": str(tmp_path / "x.db")}
    other = {"engine": "sqlite", "path": str(tmp_path / "y.db")}
    config = make_board(
        tmp_path / "home", main, {"t": {"anon": ["select"]}}, others={"other": other}
    )
    found = load_permissions(config, Datastores.from_config(config))
    assert set(found) == {"main", "other"}
    declared, undeclared = found["main"], found["other"]
    assert declared is not None and declared.rule("t").allows("anon", "select")
    assert undeclared is not None and not undeclared.rule("t").allows("anon", "select")
