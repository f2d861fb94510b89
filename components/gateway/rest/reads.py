"""GET and HEAD on `/rest/v1/{table}`: rows, counts, ranges, singular and CSV answers.

200  the whole result, or a page without a known total   Content-Range: 0-9/*
206  a page of a counted result                          Content-Range: 0-9/57
416  an offset past the counted total (PGRST103)         Content-Range: */57
406  `Accept: application/vnd.pgrst.object+json` and not exactly one row (PGRST116)
"""

from __future__ import annotations

from typing import Any

from components.datastore import query as q
from components.gateway.postgrest import errors as parse_errors
from components.gateway.postgrest.media import Media
from components.gateway.postgrest.request import ParsedRequest
from components.gateway.rest import errors, render
from components.gateway.rest.call import CONTENT_TYPES, Reply, Target
from components.gateway.rest.embed import attach, level_where, output_keys, shape_read
from components.gateway.rest.plan import Level, build
from components.gateway.rest.session import open_session


def read(target: Target, request: ParsedRequest) -> Reply:
    """Answer a read: the rows the request selects, shaped and paged."""
    plan = build(
        target.schema, target.table, request, target.lookup, target.visible, target.adapter.engine
    )
    page = request.page
    counted = request.prefer.count is not None
    with open_session(target.adapter, target.guard, target.caller, read_only=True) as session:
        select = q.Select(
            target.table.name,
            plan.columns,
            level_where(session, plan),
            plan.order,
            page.limit,
            page.offset or None,
            count=counted,
        )
        # a read checks nothing before its COMMIT: without embeds it is the last statement
        result = session.execute(select, last=not plan.embeds)
        rows = result.rows
        attach(session, plan, rows)
    total = result.count if counted else None
    if render.range_status(page.offset, len(rows), total) == 416:
        assert total is not None
        raise parse_errors.offset_out_of_bounds(page.offset, total)
    reply = Reply(render.range_status(page.offset, len(rows), total))
    reply.headers["Content-Range"] = render.content_range(page.offset, len(rows), total)
    return respond(reply, request, plan, shape_read(plan, rows))


def respond(reply: Reply, request: ParsedRequest, plan: Level, rows: list[dict[str, Any]]) -> Reply:
    """Fill in the body in the negotiated media type (and Preference-Applied)."""
    applied = request.preference_applied()
    if applied:
        reply.headers["Preference-Applied"] = applied
    media = request.media
    if media is Media.GEOJSON:
        raise errors.not_implemented("application/geo+json responses are not supported yet")
    if request.singular and len(rows) != 1:
        raise errors.singular(len(rows))
    reply.content_type = CONTENT_TYPES.get(media, CONTENT_TYPES[Media.JSON])
    if media is Media.CSV:
        body = render.to_csv(rows, output_keys(plan))
    else:
        value: Any = rows[0] if request.singular else rows
        if request.strip_nulls:
            value = render.strip_nulls(value)
        body = render.dumps(value, exact=plan.decimals)
    reply.body = None if request.head else body
    return reply
