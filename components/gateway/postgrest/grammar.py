"""The lexical layer of PostgREST's query grammar: names, quoting, JSON paths, values.

The HTTP layer percent-decodes; what arrives here is text. Reserved characters
(`, . : ( )`) in a name, an `in.(...)` item or a value inside `or=(...)` are protected by
double quotes, inside which `\\"` is a quote and `\\\\` a backslash. A top-level filter
value (`name=eq.a,b.c`) is everything after the operator, verbatim: quotes there are data.

Parsers here are plain functions over a `Scanner`; a failure raises the internal
`Failure`, which `run` turns into PostgREST's PGRST100 with the position and what was
expected, as PostgREST's Parsec errors read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NoReturn, TypeVar

from components.gateway.postgrest.errors import parse_error

T = TypeVar("T")

MAX_DEPTH = 32  # nesting of and()/or() and of embeds; deeper input is refused, not recursed
CACHE_SIZE = 512  # parsed select/order values and filter keys kept per process (they repeat)
NAME = "field name (* or [a..z0..9_$])"
EmbedPath = tuple[str, ...]  # ("actors",) for `actors.first_name=eq.x`; () is the root

_IDENT = re.compile(r"[\w $]+")  # PostgREST's identifier: letters, digits, `_`, space, `$`
_JSON_WORD = re.compile(r"[^(\-:.,>)]+")
_JSON_INDEX = re.compile(r"-?[0-9]+(?=->|::|[.,)]|\Z)")
_PLAIN_ITEM = re.compile(r"[^,)]*")
_IS_WORDS = ("not_null", "null", "true", "false", "unknown")


class Failure(Exception):  # internal control flow; never leaves this package
    """Parsing stopped at `pos`; `expecting` says what would have been accepted there."""

    def __init__(self, pos: int, expecting: tuple[str, ...]) -> None:
        super().__init__(pos, expecting)
        self.pos = pos
        self.expecting = expecting

    def merge(self, other: Failure) -> Failure:
        """Return the failure that got further; on a tie, one expecting either."""
        if self.pos != other.pos:
            return self if self.pos > other.pos else other
        expecting = self.expecting + tuple(e for e in other.expecting if e not in self.expecting)
        return Failure(self.pos, expecting)


class Scanner:
    """A cursor over one parameter's text."""

    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self, n: int = 1) -> str:
        return self.text[self.pos : self.pos + n]

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def startswith(self, literal: str) -> bool:
        return self.text.startswith(literal, self.pos)

    def take(self, literal: str) -> bool:
        """Consume `literal` if it comes next; say whether it did."""
        if self.text.startswith(literal, self.pos):
            self.pos += len(literal)
            return True
        return False

    def expect(self, literal: str, *labels: str) -> None:
        """Consume `literal` or fail, expecting `labels` (default: the literal itself)."""
        if not self.take(literal):
            self.fail(*(labels or (json.dumps(literal),)))

    def skip_ws(self) -> None:
        while self.peek() in (" ", "\t") and self.peek():
            self.pos += 1

    def rest(self) -> str:
        """Consume and return everything left."""
        text, self.pos = self.text[self.pos :], len(self.text)
        return text

    def fail(self, *expecting: str) -> NoReturn:
        raise Failure(self.pos, expecting)


def run(text: str, what: str, parser: Callable[[Scanner], T], *, shown: str | None = None) -> T:
    """Parse all of `text`; on failure raise PGRST100 naming `what` and the position."""
    scanner = Scanner(text)
    try:
        result = parser(scanner)
        if not scanner.at_end():
            scanner.fail("end of input")
    except Failure as exc:
        shown = text if shown is None else shown
        raise parse_error(what, shown, exc.pos + 1, _details(text, exc)) from None
    return result


def _details(text: str, failure: Failure) -> str:
    found = text[failure.pos : failure.pos + 1]
    unexpected = json.dumps(found, ensure_ascii=False) if found else "end of input"
    expecting = list(failure.expecting)
    if len(expecting) > 1:
        expecting[-2:] = [f"{expecting[-2]} or {expecting[-1]}"]
    return f"unexpected {unexpected} expecting {', '.join(expecting)}"


def check_depth(scanner: Scanner, depth: int) -> None:
    if depth > MAX_DEPTH:
        scanner.fail(f"at most {MAX_DEPTH} levels of nesting")


@dataclass(frozen=True, slots=True)
class JsonStep:
    """One `->key` / `->>key` step; `index` when the key is an array position (`->0`)."""

    arrow: str
    key: str
    index: bool = False


@dataclass(frozen=True, slots=True)
class ColumnPath:
    """A column, maybe followed by a JSON path: `data->phones->>0`."""

    name: str
    json: tuple[JsonStep, ...] = ()

    @property
    def key(self) -> str:
        """Return the name PostgREST gives this in output: the last path segment."""
        return self.json[-1].key if self.json else self.name

    def __str__(self) -> str:
        return self.name + "".join(f"{s.arrow}{s.key}" for s in self.json)


def identifier(scanner: Scanner, expecting: str = NAME) -> str:
    """Read letters, digits, `_`, `$` and spaces; return them stripped."""
    match = _IDENT.match(scanner.text, scanner.pos)
    if match is None or not match.group().strip():
        scanner.fail(expecting)
    scanner.pos = match.end()
    return match.group().strip()


def quoted(scanner: Scanner) -> str:
    """Read a double-quoted string in which a backslash escapes the next character."""
    scanner.expect('"')
    text, pos, out = scanner.text, scanner.pos, []
    while pos < len(text) and text[pos] != '"':
        if text[pos] == "\\" and pos + 1 < len(text):
            pos += 1
        out.append(text[pos])
        pos += 1
    scanner.pos = pos
    scanner.expect('"', '"\\""')
    return "".join(out)


def _dashed(scanner: Scanner, word: Callable[[Scanner], str]) -> str:
    """Read words joined by `-` (but not by `->`, which starts a JSON path)."""
    parts = [word(scanner)]
    while scanner.peek() == "-" and scanner.peek(2) != "->":
        scanner.pos += 1
        parts.append(word(scanner))
    return "-".join(parts)


def field_name(scanner: Scanner) -> str:
    """Read a column, relation or alias name, quoted or not."""
    if scanner.peek() == '"':
        return quoted(scanner)
    return _dashed(scanner, identifier)


def names(scanner: Scanner) -> tuple[str, ...]:
    """Read `a.b.c`: the dotted names of a parameter key."""
    parts = [field_name(scanner)]
    while scanner.take("."):
        parts.append(field_name(scanner))
    return tuple(parts)


def _json_word(scanner: Scanner) -> str:
    match = _JSON_WORD.match(scanner.text, scanner.pos)
    if match is None or not match.group().strip():
        scanner.fail("any non reserved character different from: .,>()")
    scanner.pos = match.end()
    return match.group().strip()


def json_path(scanner: Scanner) -> tuple[JsonStep, ...]:
    """Read any number of `->key`, `->>key`, `->0` steps."""
    steps = []
    while scanner.startswith("->"):
        arrow = "->>" if scanner.startswith("->>") else "->"
        scanner.pos += len(arrow)
        index = _JSON_INDEX.match(scanner.text, scanner.pos)
        if index:
            scanner.pos = index.end()
            steps.append(JsonStep(arrow, index.group(), index=True))
        elif scanner.peek() == '"':
            steps.append(JsonStep(arrow, quoted(scanner)))
        else:
            steps.append(JsonStep(arrow, _dashed(scanner, _json_word)))
    return tuple(steps)


def column_path(scanner: Scanner) -> ColumnPath:
    """Read a name and its JSON path, with blanks allowed around them."""
    scanner.skip_ws()
    path = ColumnPath(field_name(scanner), json_path(scanner))
    scanner.skip_ws()
    return path


def tree_path(scanner: Scanner) -> tuple[EmbedPath, ColumnPath]:
    """Read a filter key: `embed.embed.column->json`."""
    parts = names(scanner)
    return parts[:-1], ColumnPath(parts[-1], json_path(scanner))


def _item(scanner: Scanner) -> str:
    """Read one `in.(...)` item: quoted when a `,` or `)` follows the quote, else raw."""
    if scanner.peek() == '"':
        start = scanner.pos
        try:
            value = quoted(scanner)
            if scanner.peek() in (",", ")"):
                return value
        except Failure:
            pass
        scanner.pos = start
    match = _PLAIN_ITEM.match(scanner.text, scanner.pos)
    value = match.group() if match else ""
    scanner.pos += len(value)
    return value


def list_values(scanner: Scanner) -> tuple[str, ...]:
    """Read `(a,"b,c",d)`; `()` is the empty list (PostgREST's `IN (NULL)`: no row)."""
    scanner.skip_ws()
    scanner.expect("(")
    scanner.skip_ws()
    items = [] if scanner.peek() == ")" else [_item(scanner)]
    while items and scanner.take(","):
        items.append(_item(scanner))
    scanner.skip_ws()
    scanner.expect(")", '","', '")"')
    scanner.skip_ws()
    return tuple(items)


def logic_value(scanner: Scanner) -> str:
    """Read a value inside `or=(...)`: quoted, a `{...}` array literal, or up to `,`/`)`."""
    if scanner.peek() == "{":
        end = scanner.text.find("}", scanner.pos)
        brace = scanner.text.find("{", scanner.pos + 1)
        if end != -1 and (brace == -1 or brace > end):
            value = scanner.text[scanner.pos : end + 1]
            scanner.pos = end + 1
            return value
    return _item(scanner)


def is_value(scanner: Scanner) -> str:
    """Read the operand of `is`: null, not_null, true, false or unknown, any case."""
    for word in _IS_WORDS:
        if scanner.text[scanner.pos : scanner.pos + len(word)].lower() == word:
            scanner.pos += len(word)
            return word
    scanner.fail("isVal: (null, not_null, true, false, unknown)")


def like_pattern(value: str) -> str:
    """Return a like/ilike operand with PostgREST's `*` wildcard spelled as SQL's `%`."""
    return value.replace("*", "%")


def array_items(text: str) -> tuple[str | None, ...]:
    """Read a PostgreSQL array literal `{a,"b,c",NULL}` (the operand of `eq(any)`).

    Items may be double-quoted (`\\` escapes the next character); an unquoted NULL is null.
    Raise ValueError for anything else, nested arrays included."""
    body = text.strip()
    if len(body) < 2 or body[0] != "{" or body[-1] != "}":
        raise ValueError('an array literal starts with "{" and ends with "}"')
    scanner = Scanner(body[1:-1])
    items: list[str | None] = []
    if not scanner.text.strip():
        return ()
    while True:
        scanner.skip_ws()
        if scanner.peek() == '"':
            try:
                items.append(quoted(scanner))
            except Failure:
                raise ValueError("an unterminated quoted item") from None
        else:
            start = scanner.pos
            while not scanner.at_end() and scanner.peek() not in (",", '"', "{", "}"):
                scanner.pos += 1
            word = scanner.text[start : scanner.pos].strip()
            if not word:
                raise ValueError('an empty item (quote it: "")')
            items.append(None if word.upper() == "NULL" else word)
        scanner.skip_ws()
        if scanner.at_end():
            return tuple(items)
        if not scanner.take(","):
            raise ValueError(f"unexpected {scanner.peek()!r} at position {scanner.pos + 2}")
