"""Hot reload: hot keys are applied in place; others wait for a restart."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

from mobo.kernel.config import load_config
from mobo.kernel.home import init_home
from mobo.kernel.reload import ConfigWatcher


def edit(path: Path, old: str, new: str) -> None:
    path.write_text(path.read_text().replace(old, new))
    stamp = time.time() + 1  # make sure the mtime moves even on coarse filesystems
    os.utime(path, (stamp, stamp))


def test_log_level_is_applied_without_restart(home: Path) -> None:
    init_home(home)
    watcher = ConfigWatcher(load_config(home))
    assert watcher.poll() == []
    edit(home / "mobo.toml", 'level = "info"', 'level = "debug"')
    assert watcher.poll() == ["log.level"]
    assert logging.getLogger().level == logging.DEBUG
    logging.getLogger().setLevel(logging.WARNING)


def test_cold_keys_are_not_reported_as_applied(home: Path) -> None:
    init_home(home)
    watcher = ConfigWatcher(load_config(home))
    edit(home / "mobo.toml", "workers = 2", "workers = 3")
    assert watcher.poll() == []
    assert watcher.config.gateway.workers == 3


def test_an_invalid_edit_keeps_the_running_config(home: Path) -> None:
    init_home(home)
    watcher = ConfigWatcher(load_config(home))
    edit(home / "mobo.toml", 'level = "info"', 'level = "loud"')
    assert watcher.poll() == []
    assert watcher.config.log.level == "info"
