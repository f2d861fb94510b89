"""Edit a board's mobo.toml in tests: merge tables into it instead of appending them.

`mobo init` writes some sections (`[gateway]`, `[realtime]`, ...); appending a second
`[realtime]` would be invalid TOML, so tests merge what they add into the parsed file.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import tomli_w


def merged(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Return `base` with `extra` merged in, table by table (extra's values win)."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merged(out[key], value)
        else:
            out[key] = value
    return out


def merge_toml(path: Path, extra: dict[str, Any]) -> None:
    """Merge `extra` into the TOML file at `path` (its comments are not kept)."""
    data = tomllib.loads(path.read_text()) if path.exists() else {}
    path.write_text(tomli_w.dumps(merged(data, extra)))
