"""`mobo status` asks the plugged cards for their fields through their `status` hook."""

from __future__ import annotations

import logging
import uuid
from pathlib import Path

import pytest

from mobo.kernel.config import load_config
from mobo.kernel.registry import Registry
from mobo.kernel.status import card_fields


def hook_card(root: Path, name: str, body: str) -> None:
    """A card (from outside the tree, as $MOBO_CARD_PATH's) whose status hook runs `body`."""
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "__init__.py").write_text("")
    (folder / "status.py").write_text(f"def summary(config):\n    {body}\n")
    (folder / "manifest.toml").write_text(
        f'name = "{name}"\nversion = "1"\n[provides]\nstatus = "{name}.status:summary"\n'
    )


def test_plugged_cards_add_their_fields_and_a_failing_hook_is_skipped(
    tmp_path: Path, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    tag = uuid.uuid4().hex[:8]  # module names unique to this test
    good, bad, off = f"good{tag}", f"bad{tag}", f"off{tag}"
    hook_card(tmp_path, good, 'return {"last_thing": 42, "state": "hijacked"}')
    hook_card(tmp_path, bad, 'raise RuntimeError("broken folder")')
    hook_card(tmp_path, off, 'return {"off_field": 1}')
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "manifest.toml").write_text('name = "plain"\nversion = "1"\n')
    (home / "mobo.toml").write_text(f'[cards]\nunplugged = ["{off}"]\n')
    config = load_config(home, environ={})
    registry = Registry.discover(tmp_path)
    with caplog.at_level(logging.WARNING, logger="mobo.kernel.status"):
        assert card_fields(config, registry) == {"last_thing": 42}
        assert card_fields(config, registry) == {"last_thing": 42}
    warnings = [r.getMessage() for r in caplog.records]
    assert len(warnings) == 1 and bad in warnings[0] and "broken folder" in warnings[0]
