"""Hot reload: a running process applies changed hot-reloadable config keys by itself."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import asdict

from mobo.exceptions import ConfigError
from mobo.kernel.config import SECTIONS, Config, hot_keys, load_config
from mobo.kernel.logger import set_level

LOGGER = logging.getLogger(__name__)
APPLIERS: dict[str, Callable[[Config], None]] = {
    "log.level": lambda config: set_level(config.log.level),
}


def flat(config: Config) -> dict[str, object]:
    """Return every typed key as `section.key` → value."""
    return {
        f"{name}.{key}": value
        for name in SECTIONS
        for key, value in asdict(getattr(config, name)).items()
    }


class ConfigWatcher:
    """Notices a changed mobo.toml and applies what can be applied without a restart."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self._mtime = self._stat()

    def _stat(self) -> float:
        try:
            return os.stat(self.config.config_path).st_mtime
        except OSError:
            return 0.0

    def poll(self) -> list[str]:
        """Reload if the file changed; return the hot keys applied (may be empty)."""
        mtime = self._stat()
        if mtime == self._mtime:
            return []
        self._mtime = mtime
        try:
            new = load_config(self.config.home)
        except ConfigError as exc:
            LOGGER.warning("config changed but is invalid, keeping the running one: %s", exc)
            return []
        old, fresh = flat(self.config), flat(new)
        changed = [k for k in fresh if fresh[k] != old[k]]
        applied = [k for k in changed if k in hot_keys()]
        for key in applied:  # keys without an applier are read live from .config
            if key in APPLIERS:
                APPLIERS[key](new)
        later = [k for k in changed if k not in hot_keys()]
        if later:
            LOGGER.info("config keys %s change at the next restart", ", ".join(later))
        self.config = new
        return applied
