"""End to end: the real `@supabase/supabase-js` (auth-js) against MagAuth under gunicorn.

The client comes from npm into tests/e2e/node_modules (gitignored); the test is skipped
only when node or that install is impossible. The board is a fresh home (`mobo init`)
whose gateway app gunicorn serves on a free port.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from mobo.kernel.config import load_config
from mobo.kernel.home import init_home
from tests.conftest import free_port

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
NPM_TIMEOUT_S = 300
READY_TIMEOUT_S = 30


def ensure_supabase_js() -> None:
    """Install @supabase/supabase-js into tests/e2e/node_modules, or skip saying why."""
    if (HERE / "node_modules" / "@supabase" / "supabase-js" / "package.json").exists():
        return
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.skip("node and npm are needed to run supabase-js (apt-get install nodejs npm)")
    try:
        proc = subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(HERE)],
            capture_output=True, text=True, timeout=NPM_TIMEOUT_S, check=False,
        )  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.skip(f"npm install of @supabase/supabase-js took over {NPM_TIMEOUT_S} s")
    if proc.returncode != 0:
        pytest.skip(f"npm install of @supabase/supabase-js failed: {proc.stderr[-500:]}")


def node_flags() -> list[str]:
    """supabase-js 2.1xx wants a global WebSocket: Node 20 has it behind a flag."""
    version = subprocess.run(["node", "--version"], capture_output=True, text=True, check=True)
    major = int(version.stdout.strip().lstrip("v").split(".")[0])
    return ["--experimental-websocket"] if major < 22 else []


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, object]]:
    ensure_supabase_js()
    home = tmp_path_factory.mktemp("board")
    port = free_port()
    init_home(home, port=port)
    env = {**os.environ, "MOBO_HOME": str(home), "PYTHONPATH": str(ROOT)}
    cmd = [
        sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
        "--threads", "4", "--worker-class", "gthread", "tests.e2e.gateway_app:build()",
    ]  # fmt: skip
    log = (home / "gunicorn.log").open("w")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(url, proc, home)
        yield url, load_config(home, environ={})
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


def _wait_ready(url: str, proc: subprocess.Popen, home: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError((home / "gunicorn.log").read_text())
        try:
            with urllib.request.urlopen(url + "/auth/v1/health", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("gunicorn did not serve /auth/v1/health in time")


def test_supabase_js_drives_magauth(gateway) -> None:  # type: ignore[no-untyped-def]
    url, config = gateway
    proc = subprocess.run(
        ["node", *node_flags(), str(HERE / "auth.mjs"), url, config.secrets.anon_key,
         config.secrets.service_role_key],
        capture_output=True, text=True, timeout=120, cwd=HERE, check=False,
    )  # fmt: skip
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no result from auth.mjs:\n{proc.stdout}\n{proc.stderr}"
    result = json.loads(lines[-1])
    assert result["ok"], f"{result.get('failed')}: {json.dumps(result.get('detail'))[:2000]}"
    assert "refreshSession" in result["steps"] and "admin.deleteUser" in result["steps"]
