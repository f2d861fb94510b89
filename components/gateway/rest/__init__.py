"""MagGate's REST data API: `/rest/v1/{table}` and `/rest/v1/rpc/{fn}`, PostgREST-compatible.

    mount(app, config, services)      # in create_app: routes + the worker's RestApi

Modules, from the HTTP edge inward:

    resources   Falcon resources: HTTP -> Call, Reply -> HTTP
    api         RestApi.serve(call): authenticate, parse, pick the store, dispatch, map errors
    identity    the caller (a Principal, verified by MagAuth) or 401
    reads       GET/HEAD: counts, ranges, singular, CSV
    writes      POST/PUT/PATCH/DELETE: Prefer return/resolution/missing, Location
    rpc         PostgreSQL functions
    plan        select= as a tree of levels; embeds resolved (relations) and filtered
    embed       run a plan: parents, one batched query per embed, stitched in Python
    session     one transaction per request, with the role and JWT claims (PostgreSQL)
    numbers     numeric filter values must be numbers (MariaDB/MySQL's lenient casts)
    bodies      request bodies (JSON, CSV, form) and the size limit
    render      JSON with exact numerics, CSV, Content-Range
    errors      PostgREST's error codes and statuses; MagDS's refusals mapped to them

Who may do what is MagDS's access policy (`components.datastore.access`): the Guard,
the permissions of `[datastores.<store>.permissions]`, the per-request role and claims,
the hidden tables. Its refusals are domain errors that `errors` maps to HTTP.

See docs/rest.md.
"""

from __future__ import annotations

from typing import Any

import falcon

from components.datastore.access import load_permissions
from components.gateway.rest.api import RestApi, Stores
from components.gateway.rest.identity import authenticator
from components.gateway.rest.resources import RpcResource, TableResource
from mobo.kernel.config import Config

PREFIX = "/rest/v1"

__all__ = ["PREFIX", "RestApi", "mount"]


def mount(app: falcon.App, config: Config, services: Any) -> RestApi:
    """Add `/rest/v1/{table}` and `/rest/v1/rpc/{fn}` to `app`; return the RestApi.

    Permissions are validated now (a ConfigError stops the worker)."""
    stores = gateway_stores(config, services)
    api = RestApi(
        stores,
        authenticator(config, lambda: services.provided.get("auth")),
        load_permissions(config, stores),
        aggregates=config.gateway.aggregates,
    )
    identify = getattr(getattr(services, "platform", None), "identify", None)
    app.add_route(f"{PREFIX}/{{table}}", TableResource(api, identify=identify))
    app.add_route(f"{PREFIX}/rpc/{{function}}", RpcResource(api, identify=identify))
    return api


def gateway_stores(config: Config, services: Any) -> Stores:
    """Return the worker's one set of stores: `services.datastores`, else the platform's
    (whose schema watcher keeps them fresh), else the board's stores from config."""
    found = getattr(services, "datastores", None)
    if found is not None:
        return found
    platform = getattr(services, "platform", None)
    if platform is not None and callable(getattr(platform, "stores", None)):
        return platform.stores()
    from components.datastore import Datastores

    return Datastores.from_config(config)
