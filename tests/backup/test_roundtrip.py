"""Back up, verify and restore each engine while a writer keeps inserting rows."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from components.backup.create import create_set
from components.backup.errors import BackupError
from components.backup.restore import restore_set
from components.backup.sets import list_sets
from components.backup.verify import verify_set
from tests.backup.conftest import ENGINES, Sql, Writer, make_home, seed


@pytest.mark.parametrize("engine", ENGINES)
def test_round_trip_with_writes_during_the_backup(engine: str, store_of, tmp_path: Path) -> None:
    settings = store_of(engine)
    seed(settings)
    config = make_home(tmp_path / "home", {"data": settings})
    writer = Writer(settings)
    writer.start()
    deadline = time.monotonic() + 30
    while writer.written < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    started_with = writer.written
    try:
        path = create_set(config, stores=["data"], label="live")
    finally:
        writer.stop.set()
        writer.join(30)
    assert writer.error is None, writer.error
    assert writer.written > started_with  # the writer kept going while the dump ran
    body = json.loads((path / "manifest.json").read_text())
    entry = body["stores"]["data"]
    table = "public.items" if engine == "postgres" else "items"
    empty = "public.empty_one" if engine == "postgres" else "empty_one"
    in_set = entry["tables"][table]
    assert 20_000 + started_with <= in_set <= 20_000 + writer.written
    assert entry["tables"][empty] == 0

    verdict = verify_set(config, path)
    assert verdict.ok, verdict.problems
    assert verdict.stores["data"][table] == in_set

    sql = Sql(settings)
    sql.run("DELETE FROM items WHERE id > 100")
    assert sql.count("items") == 100
    result = restore_set(config, path.name)
    assert result.stores["data"][table] == in_set and not result.mismatches
    assert sql.count("items") == in_set
    sql.close()
    assert result.safety_set is not None
    safety = next(s for s in list_sets(config) if s.id == result.safety_set)
    assert safety.good and safety.label == f"safety before restore of {path.name}"
    assert json.loads((path / "verify.json").read_text())["ok"] is True


def test_set_layout_and_listing(store_of, tmp_path: Path) -> None:
    settings = store_of("sqlite")
    seed(settings, 1000)
    config = make_home(tmp_path / "home", {"data": settings})
    path = create_set(config, stores=["data"], label="first")
    (config.home / "backups" / ".partial-20260101T000000Z-abcdef").mkdir()
    sets = list_sets(config)
    assert [s.id for s in sets] == [path.name, "20260101T000000Z-abcdef"]
    assert sets[0].good and sets[0].stores == ["data"] and sets[0].verified is None
    assert not sets[1].good and sets[1].partial
    body = json.loads((path / "manifest.json").read_text())
    assert {
        "format_version",
        "id",
        "label",
        "board_id",
        "magflock_version",
        "created",
        "finished",
        "stores",
        "own_data",
        "encrypted",
        "signature",
    } <= body.keys()
    assert set(body["own_data"]["members"]) >= {"mobo.toml", ".mobo/secrets.toml"}
    assert oct(path.stat().st_mode & 0o777) == "0o700"


def test_unknown_store_is_a_clear_error(tmp_path: Path) -> None:
    config = make_home(tmp_path / "home", {})
    with pytest.raises(Exception, match="no datastore named 'nope'"):
        create_set(config, stores=["nope"])
    assert not (config.home / "backups").exists() or not any((config.home / "backups").iterdir())


def test_missing_pg_dump_names_the_binary_and_the_package(store_of, tmp_path, monkeypatch) -> None:
    settings = store_of("postgres")
    config = make_home(tmp_path / "home", {"pg": settings})
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    with pytest.raises(BackupError) as caught:
        create_set(config, stores=["pg"])
    assert "'pg_dump' not found" in str(caught.value)
    assert "postgresql-client-" in (caught.value.hint or "")
    assert not [p for p in (config.home / "backups").iterdir()]  # the partial set was removed
