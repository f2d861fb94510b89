"""`[backup]` in mobo.toml, validated: where sets live, encryption, tools, job policy.

B1's keys are below; the retention keys (`keep_last`, `keep_daily`, `keep_weekly`) and
the schedule belong to the scheduler (retention.py, scheduler/) and are read there.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mobo.exceptions import ConfigError
from mobo.kernel.config import Config

DEFAULT_DIR = "backups"  # relative to the board's home
JOB_TIMEOUT_S = 6 * 3600  # one backup job may run this long before RQ stops it
RETRIES = 1  # a failed backup job is retried this often
RETRY_INTERVAL_S = 30  # wait before a retry
TOOLS = {"pg_dump": "pg_dump", "pg_restore": "pg_restore", "mysqldump": "", "mysql": ""}


@dataclass(frozen=True, slots=True)
class BackupSettings:
    dir: Path
    encryption_key: str = field(default="", repr=False)
    pg_dump: str = "pg_dump"
    pg_restore: str = "pg_restore"
    mysqldump: str = ""  # empty: mariadb-dump, else mysqldump, on PATH
    mysql: str = ""  # empty: mariadb, else mysql, on PATH
    job_timeout: int = JOB_TIMEOUT_S
    retries: int = RETRIES
    retry_interval: int = RETRY_INTERVAL_S

    @property
    def encrypted(self) -> bool:
        return bool(self.encryption_key)


def backup_settings(config: Config) -> BackupSettings:
    """Read and check `[backup]`; a ConfigError names the key, the value and what is allowed."""
    raw: dict[str, Any] = config.section("backup")
    where = f"{config.config_path}: backup"
    folder = Path(str(raw.get("dir") or DEFAULT_DIR)).expanduser()
    values: dict[str, Any] = {"dir": folder if folder.is_absolute() else config.home / folder}
    for key in ("encryption_key", *TOOLS):
        if key in raw:
            if not isinstance(raw[key], str):
                raise ConfigError(f"{where}.{key} must be a string", hint="quote the value")
            values[key] = raw[key]
    key = values.get("encryption_key", "")
    if key and len(key) < 16:
        raise ConfigError(
            f"{where}.encryption_key is too short ({len(key)} characters)",
            hint="use at least 16 characters, e.g. `python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))'`; keep it safe: without it a set cannot be read",
        )
    for name, lo, hi in (
        ("job_timeout", 10, 7 * 86400),
        ("retries", 0, 10),
        ("retry_interval", 0, 86400),
    ):
        if name in raw:
            values[name] = _int(raw[name], lo, hi, f"{where}.{name}")
    return BackupSettings(**values)


def _int(value: object, lo: int, hi: int, where: str) -> int:
    try:
        number = int(str(value).strip()) if not isinstance(value, bool) else None
    except ValueError:
        number = None
    if number is None or not lo <= number <= hi:
        raise ConfigError(f"{where} = {value!r} is not allowed", hint=f"allowed: {lo} to {hi}")
    return number
