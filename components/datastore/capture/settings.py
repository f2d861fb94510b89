"""The change feed's keys, read from `[realtime]` in mobo.toml, validated once.

    [realtime]
    capture = true           # Postgres stores: capture in the database (triggers + outbox)
    max_row_bytes = 65536    # a change larger than this travels by reference (its key)
    stream_maxlen = 100000   # changes kept in the stream (XADD MAXLEN ~)

They sit in `[realtime]` because the realtime card was the feed's first home and is its
first reader; they stay there so that existing mobo.toml files keep working. The other
`[realtime]` keys belong to the server (components/realtime/settings.py).
Values from `MOBO_REALTIME_<KEY>` arrive as text and are converted here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mobo.exceptions import ConfigError

KEYS = ("max_row_bytes", "capture", "stream_maxlen")  # the feed's keys of `[realtime]`
MAX_ROW_BYTES = 65_536  # NOTIFY payloads stop at 8000 bytes; Redis entries should stay small
STREAM_MAXLEN = 100_000
BOUNDS = {"max_row_bytes": (256, 64 * 1024 * 1024), "stream_maxlen": (100, 100_000_000)}
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


@dataclass(frozen=True, slots=True)
class CaptureSettings:
    """`capture`: Postgres stores are captured in the database (and MagDS does not
    also write their changes to the stream)."""

    capture: bool = True
    max_row_bytes: int = MAX_ROW_BYTES
    stream_maxlen: int = STREAM_MAXLEN


def load_capture_settings(config: Any) -> CaptureSettings:
    """Read the change feed's keys of the board's `[realtime]` section."""
    return parse_capture_settings(config.section("realtime"))


def parse_capture_settings(raw: Mapping[str, Any]) -> CaptureSettings:
    """Validate the capture keys of a `[realtime]` table (other keys are ignored here)."""
    values: dict[str, Any] = {}
    if "capture" in raw:
        values["capture"] = _bool("capture", raw["capture"])
    for key in BOUNDS:
        if key in raw:
            values[key] = _int(key, raw[key])
    return CaptureSettings(**values)


def _bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS or word in FALSE_WORDS:
        return word in TRUE_WORDS
    raise ConfigError(f"realtime.{key} = {value!r} is invalid", hint="allowed: true or false")


def _int(key: str, value: Any) -> int:
    lo, hi = BOUNDS[key]
    try:
        number = int(value) if not isinstance(value, bool | float) else None
    except (TypeError, ValueError):
        number = None
    if number is None or not lo <= number <= hi:
        raise ConfigError(
            f"realtime.{key} = {value!r} is not allowed",
            hint=f"allowed: a whole number from {lo} to {hi}",
        )
    return number
