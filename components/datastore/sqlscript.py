"""Split a SQL file into the statements an engine's driver can run one at a time.

- PostgreSQL takes the whole file in one call (psycopg sends a parameterless query with
  the simple protocol, which runs several statements): `$$` bodies need no splitting.
- SQLite runs one statement per call: pieces ending in `;` are joined until
  `sqlite3.complete_statement` says a statement is complete, so `;` inside strings,
  comments and `CREATE TRIGGER ... BEGIN ... END;` stay where they belong.
- MySQL/MariaDB runs one statement per call: `;` splits outside quotes (`'`, `"`,
  backticks) and comments (`--`, `#`, `/* */`); a `DELIMITER //` line changes the
  delimiter as in the mysql client, for routines whose bodies contain `;`.
"""

from __future__ import annotations

import re
import sqlite3

DELIMITER_LINE = re.compile(r"^[ \t]*DELIMITER[ \t]+(\S+)[ \t]*$", re.IGNORECASE | re.MULTILINE)


def split_statements(engine: str, script: str) -> list[str]:
    """Return the statements of `script` for `engine` (postgres, sqlite, mysql)."""
    if engine == "postgres":
        return [script] if has_sql(script) else []
    if engine == "sqlite":
        return _sqlite(script)
    return _mysql(script)


def has_sql(text: str, comments: tuple[str, ...] = ("--",)) -> bool:
    """Tell whether `text` holds anything but blanks and comments."""
    return any(
        line.strip() and not line.strip().startswith(comments) for line in _strip_blocks(text)
    )


def _strip_blocks(text: str) -> list[str]:
    return re.sub(r"/\*.*?\*/", "", text, flags=re.DOTALL).splitlines()


def _sqlite(script: str) -> list[str]:
    statements, buffer = [], ""
    for piece in script.split(";"):
        buffer += piece + ";"
        if sqlite3.complete_statement(buffer):
            if has_sql(buffer.rstrip(";")):
                statements.append(buffer.strip())
            buffer = ""
    rest = buffer[:-1]  # the split added one `;` too many at the end
    if has_sql(rest):
        statements.append(rest.strip())  # incomplete: SQLite will say what is wrong
    return statements


def _mysql(script: str) -> list[str]:
    statements: list[str] = []
    delimiter, pos = ";", 0
    for match in DELIMITER_LINE.finditer(script):
        statements += _split_on(script[pos : match.start()], delimiter)
        delimiter, pos = match.group(1), match.end()
    return statements + _split_on(script[pos:], delimiter)


def _split_on(text: str, delimiter: str) -> list[str]:
    out, start, i, n = [], 0, 0, len(text)
    while i < n:
        i2 = _skip(text, i)
        if i2 != i:
            i = i2
        elif text.startswith(delimiter, i):
            out.append(text[start:i])
            i = start = i + len(delimiter)
        else:
            i += 1
    out.append(text[start:])
    return [s.strip() for s in out if has_sql(s, ("--", "#"))]


def _skip(text: str, i: int) -> int:
    """Return the index after a quoted string or comment starting at i (else i)."""
    char = text[i]
    if char in "'\"`":
        return _close_quote(text, i + 1, char)
    if text.startswith("--", i) or char == "#":
        end = text.find("\n", i)
        return len(text) if end < 0 else end + 1
    if text.startswith("/*", i):
        end = text.find("*/", i + 2)
        return len(text) if end < 0 else end + 2
    return i


def _close_quote(text: str, i: int, quote: str) -> int:
    n = len(text)
    while i < n:
        if text[i] == "\\" and quote != "`":
            i += 2
        elif text[i] == quote:
            if text.startswith(quote * 2, i):  # a doubled quote is a literal one
                i += 2
            else:
                return i + 1
        else:
            i += 1
    return n
