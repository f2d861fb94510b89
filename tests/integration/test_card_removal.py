"""A card that nothing requires can be deleted with its folder, and the board still works.

Each test works on a copy of the source tree with cards deleted (never on this tree):
the copy installs (a wheel builds from it), every module left in it imports, a board made
from it boots and serves `/rest/v1`, and the remaining cards' own tests pass in it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from mobo.kernel.registry import Registry
from tests.integration.conftest import BoardHome, make_home, teardown

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
REMOVABLE = ("realtime", "backup", "bridge", "monitor")
# the remaining cards' tests, run inside the pruned copy
REMAINING_TESTS = ("tests/kernel", "tests/datastore", "tests/auth", "tests/gateway")
IMPORT_ALL = """
import pkgutil, importlib, sys
import mobo, components
bad = []
for package in (mobo, components):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if info.name.endswith(".__main__"):
            continue
        try:
            importlib.import_module(info.name)
        except Exception as exc:
            bad.append(f"{info.name}: {type(exc).__name__}: {exc}")
print("\\n".join(bad))
sys.exit(1 if bad else 0)
"""


def copy_tree(dest: Path, without: tuple[str, ...]) -> Path:
    """Copy the project's files into `dest`, less the named cards and their tests."""
    skip = shutil.ignore_patterns(".git", ".venv", "__pycache__", "*.pyc", "node_modules")
    for name in ("mobo", "components", "tests", "bench", "docs"):
        shutil.copytree(ROOT / name, dest / name, ignore=skip)
    for name in ("setup.cfg", "pyproject.toml", "supervisord.conf", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    for card in without:
        shutil.rmtree(dest / "components" / card)
        shutil.rmtree(dest / "tests" / card, ignore_errors=True)
    return dest


def run_in(tree: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run this Python in `tree`, importing the tree's code rather than the project's."""
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run(
        [sys.executable, *args], cwd=tree, env=env, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def pruned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return copy_tree(tmp_path_factory.mktemp("pruned"), REMOVABLE)


# every card nothing requires (`after` is not a requirement)
DELETABLE = [n for n in Registry.discover(ROOT / "components").names
             if not Registry.discover(ROOT / "components").dependents(n)]  # fmt: skip


def test_the_named_cards_are_deletable() -> None:
    assert set(REMOVABLE) <= set(DELETABLE)


@pytest.mark.parametrize("card", DELETABLE)
def test_every_module_imports_without_the_card(card: str, tmp_path: Path) -> None:
    tree = copy_tree(tmp_path, (card,))
    proc = run_in(tree, "-c", IMPORT_ALL)
    assert proc.returncode == 0, f"without {card!r}:\n{proc.stdout}{proc.stderr}"


def test_the_pruned_tree_installs(pruned: Path, tmp_path: Path) -> None:
    proc = run_in(
        pruned, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
        "-w", str(tmp_path), str(pruned),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (wheel,) = tmp_path.glob("magflock-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "components/datastore/manifest.toml" in names
    assert not [n for n in names if n.split("/")[:2] == ["components", "realtime"]]


@pytest.fixture(scope="module")
def pruned_board(pruned: Path) -> Iterator[BoardHome]:
    board = make_home({"PYTHONPATH": str(pruned)}, cwd=pruned)
    board.mobo("boot", timeout=180)
    yield board
    teardown(board)


def test_the_pruned_board_boots_and_serves_rest(pruned_board: BoardHome) -> None:
    names = {card["name"] for card in pruned_board.status()["cards"]}
    assert names.isdisjoint(REMOVABLE)
    keys = json.loads(pruned_board.mobo("keys:list", "--json").stdout)
    anon = next(k["key"] for k in keys if k["name"] == "anon")
    request = urllib.request.Request(f"{pruned_board.url}/rest/v1/", headers={"apikey": anon})
    with urllib.request.urlopen(request, timeout=10) as resp:
        assert resp.status == 200
        assert json.load(resp)["openapi"].startswith("3.")


def test_the_remaining_cards_tests_pass_without_the_removed(pruned: Path) -> None:
    proc = run_in(
        pruned, "-m", "pytest", "-p", "no:cacheprovider", "-q", *REMAINING_TESTS,
        timeout=1200,
    )  # fmt: skip
    tail = "\n".join(proc.stdout.splitlines()[-30:])
    assert proc.returncode == 0, f"{tail}\n{proc.stderr[-2000:]}"
