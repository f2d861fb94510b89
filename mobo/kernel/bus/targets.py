"""Which Redis subscriptions receive the events a set of fnmatch globs wants."""

from __future__ import annotations

from fnmatch import fnmatchcase

Target = tuple[str, str]  # ("SUBSCRIBE" | "PSUBSCRIBE", channel or pattern)

UNSUBSCRIBE = {"SUBSCRIBE": "UNSUBSCRIBE", "PSUBSCRIBE": "PUNSUBSCRIBE"}
_GLOB = "*?["
_REDIS_GLOB_SPECIAL = frozenset("*?[]^\\")


def _redis_escape(text: str) -> str:
    return "".join("\\" + c if c in _REDIS_GLOB_SPECIAL else c for c in text)


def redis_target(channel_prefix: str, pattern: str) -> Target:
    """The Redis subscription that receives every event matching an fnmatch glob.

    An exact type is a SUBSCRIBE on its channel; a glob a PSUBSCRIBE that matches at
    least what fnmatch matches, and exactly that when it uses only `*`: `?` (one
    character, but Redis counts bytes) widens to `*`, and a `[…]` set (`[!x]` in
    fnmatch, `[^x]` in Redis) cuts the pattern there with a `*`. Handlers still filter
    with fnmatch, so a wider Redis pattern only costs some unwanted messages.
    """
    if not any(c in pattern for c in _GLOB):
        return ("SUBSCRIBE", channel_prefix + pattern)
    out: list[str] = []
    for c in pattern:
        if c == "[":
            out.append("*")
            break
        out.append("*" if c in "*?" else _redis_escape(c))
    glob = "".join(out)
    while "**" in glob:
        glob = glob.replace("**", "*")
    return ("PSUBSCRIBE", _redis_escape(channel_prefix) + glob)


def redis_targets(channel_prefix: str, patterns: set[str]) -> set[Target]:
    """The Redis subscriptions for a set of fnmatch globs, without needless overlap.

    `*` covers everything; an exact type some glob already matches needs no SUBSCRIBE.
    Overlapping globs may remain; the listener drops the copies one PUBLISH then yields.
    """
    if "*" in patterns:
        return {("PSUBSCRIBE", _redis_escape(channel_prefix) + "*")}
    globs = [p for p in patterns if any(c in p for c in _GLOB)]
    return {
        redis_target(channel_prefix, p)
        for p in patterns
        if p in globs or not any(fnmatchcase(p, g) for g in globs)
    }
