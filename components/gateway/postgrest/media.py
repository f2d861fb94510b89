"""Content negotiation: the response type from `Accept`, the body type from `Content-Type`.

No `Accept` (or `*/*`) means the resource's default: JSON, or OpenAPI at the root. Media
ranges are tried by quality (`q=`), then in the client's order; when none can be produced
the answer is 406 (PGRST107) listing them. A body type MagGate does not read is PostgREST's
400 (PGRST102) "Content-Type not acceptable: ..."; parameters such as `charset` are ignored.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum

from components.gateway.postgrest.errors import invalid_body, media_type_error


class Media(StrEnum):
    JSON = "application/json"
    OBJECT = "application/vnd.pgrst.object+json"  # one row as an object, else 406
    ARRAY = "application/vnd.pgrst.array+json"  # JSON, with `;nulls=stripped` support
    CSV = "text/csv"
    GEOJSON = "application/geo+json"
    OPENAPI = "application/openapi+json"
    TEXT = "text/plain"
    XML = "text/xml"
    OCTET = "application/octet-stream"
    FORM = "application/x-www-form-urlencoded"


ANY = "*/*"
TABLE_OUTPUT = (Media.JSON, Media.OBJECT, Media.ARRAY, Media.CSV, Media.GEOJSON)
RPC_OUTPUT = (*TABLE_OUTPUT, Media.TEXT, Media.XML, Media.OCTET)
ROOT_OUTPUT = (Media.OPENAPI, Media.JSON)
TABLE_INPUT = (Media.JSON, Media.CSV, Media.FORM)
RPC_INPUT = (*TABLE_INPUT, Media.TEXT, Media.XML, Media.OCTET)
_ALIASES = {
    "application/vnd.pgrst.object": Media.OBJECT,
    "application/vnd.pgrst.array": Media.ARRAY,
}
_VALUES = {m.value: m for m in Media}


def decode(mime: str) -> Media | None:
    """Return the media type a bare `type/subtype` names, or None for one we do not know."""
    return _VALUES.get(mime) or _ALIASES.get(mime)


def _media_range(text: str) -> tuple[str, dict[str, str], float]:
    mime, *raw = (part.strip() for part in text.split(";"))
    params = {}
    for item in raw:
        key, _, value = item.partition("=")
        params[key.strip().lower()] = value.strip().strip('"')
    try:
        quality = float(params.pop("q", "1"))
    except ValueError:
        quality = 1.0
    return mime.lower(), params, quality if quality == quality else 1.0  # NaN counts as 1


def parse_accept(header: str) -> list[tuple[str, dict[str, str], float]]:
    """Return the media ranges of an `Accept` header, best quality first."""
    ranges = [_media_range(part) for part in header.split(",") if part.strip()]
    return sorted(ranges, key=lambda r: -r[2])


def negotiate(accept: str | None, offered: Sequence[Media]) -> tuple[Media, bool]:
    """Return the media type to answer with and whether nulls are to be stripped."""
    ranges = parse_accept(accept or "")
    if not ranges:
        return offered[0], False
    for mime, params, quality in ranges:
        if quality <= 0:
            continue
        if mime == ANY:
            return offered[0], False
        media = decode(mime)
        if media is not None and media in offered:
            strip = media in (Media.OBJECT, Media.ARRAY) and params.get("nulls") == "stripped"
            return media, strip
    raise media_type_error(mime for mime, _, _ in ranges)


def body_media(content_type: str | None, accepted: Sequence[Media]) -> Media:
    """Return the media type of a request body; JSON when no `Content-Type` is given."""
    if content_type is None or not content_type.strip():
        return Media.JSON
    mime = content_type.split(";")[0].strip().lower()
    media = decode(mime)
    if media is None or media not in accepted:
        raise invalid_body(f"Content-Type not acceptable: {mime}")
    return media
