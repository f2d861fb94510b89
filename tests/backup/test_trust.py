"""Sets that must not be trusted: corrupted files, tampered or unsigned manifests, foreign
sets, encrypted sets without their key. Driven through the real `mobo` CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from components.backup.create import create_set
from components.backup.manifest import sign
from tests.backup.conftest import Sql, make_home, seed

MOBO = [sys.executable, "-m", "mobo"]


def mobo(home: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    import os

    return subprocess.run(
        [*MOBO, "--home", str(home), *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "400", **(env or {})},
        check=False,
    )


@pytest.fixture
def board(store_of, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = store_of("sqlite")
    seed(settings, 2000)
    config = make_home(tmp_path / "home", {"data": settings})
    return config, settings


def test_a_flipped_byte_in_a_dump_is_caught_by_verify(board) -> None:
    config, _ = board
    path = create_set(config, stores=["data"])
    dump = path / "data.sqlite"
    raw = bytearray(dump.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    dump.write_bytes(bytes(raw))
    out = mobo(config.home, "backup:verify", path.name, "--json")
    assert out.returncode == 1
    verdict = json.loads(out.stdout)
    assert verdict["ok"] is False
    assert "data.sqlite does not match its sha256" in " ".join(verdict["problems"])
    assert json.loads((path / "verify.json").read_text())["ok"] is False
    listed = json.loads(mobo(config.home, "backup:list", "--json").stdout)
    assert listed[0]["verified"] is False
    restore = mobo(config.home, "backup:restore", path.name, "--yes")
    assert restore.returncode == 1 and "fails verification" in restore.stderr


def test_a_tampered_manifest_is_refused_before_anything_runs(board) -> None:
    config, settings = board
    path = create_set(config, stores=["data"])
    body = json.loads((path / "manifest.json").read_text())
    body["stores"]["data"]["tables"]["items"] = 1
    (path / "manifest.json").write_text(json.dumps(body))
    listed = json.loads(mobo(config.home, "backup:list", "--json").stdout)
    assert listed[0]["good"] is False
    Sql(settings).run("DELETE FROM items")
    out = mobo(config.home, "backup:restore", path.name, "--yes")
    assert out.returncode == 1
    assert "signature does not verify" in out.stderr and "Traceback" not in out.stderr
    assert Sql(settings).count("items") == 0  # nothing was restored
    assert len(list((config.home / "backups").iterdir())) == 1  # not even a safety backup


def test_an_unsigned_set_is_refused(board) -> None:
    config, _ = board
    path = create_set(config, stores=["data"])
    body = json.loads((path / "manifest.json").read_text())
    del body["signature"]
    (path / "manifest.json").write_text(json.dumps(body))
    out = mobo(config.home, "backup:restore", path.name, "--yes")
    assert out.returncode == 1 and "has no signature" in out.stderr


def test_a_foreign_set_needs_trust_foreign_and_the_old_secret(board, tmp_path: Path) -> None:
    config, settings = board
    other = make_home(tmp_path / "other", {"data": settings})
    path = create_set(other, stores=["data"])
    out = mobo(config.home, "backup:restore", "--from", str(path), "--store", "data", "--yes")
    assert out.returncode == 1 and "--trust-foreign" in out.stderr
    wrong = mobo(
        config.home,
        "backup:restore",
        "--from",
        str(path),
        "--store",
        "data",
        "--yes",
        "--trust-foreign",
        "--secret",
        "0" * 64,
    )
    assert wrong.returncode == 1 and "does not match the secret given" in wrong.stderr
    # a planted set signed with a guessed key is no better than an unsigned one
    forged = sign(
        {k: v for k, v in json.loads((path / "manifest.json").read_text()).items()}, "guess"
    )
    (path / "manifest.json").write_text(json.dumps(forged))
    secret = other.secrets.backup_secret
    out = mobo(
        config.home,
        "backup:restore",
        "--from",
        str(path),
        "--store",
        "data",
        "--yes",
        "--trust-foreign",
        "--secret",
        secret,
    )
    assert out.returncode == 1 and "does not match" in out.stderr
    good = create_set(other, stores=["data"])
    Sql(settings).run("DELETE FROM items")
    ok = mobo(
        config.home,
        "backup:restore",
        "--from",
        str(good),
        "--store",
        "data",
        "--yes",
        "--trust-foreign",
        "--secret",
        secret,
        "--json",
    )
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["stores"]["data"]["items"] == 2000
    assert Sql(settings).count("items") == 2000


def test_an_encrypted_set_cannot_be_read_without_its_key(store_of, tmp_path: Path) -> None:
    settings = store_of("postgres")
    seed(settings, 3000)
    key = "correct horse battery staple"
    config = make_home(
        tmp_path / "home", {"pg": settings}, extra=f'\n[backup]\nencryption_key = "{key}"\n'
    )
    path = create_set(config, stores=["pg"])
    stored = (path / "pg.pgdump.enc").read_bytes()
    assert b"PGDMP" not in stored and b"item 1" not in stored
    assert b"jwt_secret" not in (path / "own-data.tar.gz.enc").read_bytes()
    text = (config.home / "mobo.toml").read_text().replace(key, "")
    (config.home / "mobo.toml").write_text(text.replace('encryption_key = ""', ""))
    out = mobo(config.home, "backup:verify", path.name)
    assert out.returncode == 1 and "has no [backup] encryption_key" in out.stderr
    out = mobo(
        config.home,
        "backup:restore",
        path.name,
        "--yes",
        env={"MOBO_BACKUP_ENCRYPTION_KEY": "a wrong key of some length"},
    )
    assert out.returncode == 1 and "wrong encryption_key" in out.stderr
    Sql(settings).run("DELETE FROM items")
    out = mobo(
        config.home,
        "backup:restore",
        path.name,
        "--yes",
        "--json",
        env={"MOBO_BACKUP_ENCRYPTION_KEY": key},
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["stores"]["pg"]["public.items"] == 3000
