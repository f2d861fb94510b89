"""The gateway's platform concerns: what every request goes through, whatever it asks for.

    request ─▶ ObserveMiddleware   times it, counts it, queues its `api.request` event
           ─▶ CorsMiddleware      answers preflights (before auth), adds CORS headers
           ─▶ RateLimitMiddleware GCRA buckets per IP and per key, reserved from Redis in blocks
           ─▶ the resource        (REST, auth, …; `/metrics`, `/rest/v1/` are here)

Modules: settings (config parsing), clientip (trusted proxies), identity (the Principal,
once per request), ratelimit (GCRA in Lua), allowance (the worker's reserved blocks) and
limits (the middleware), cors, metrics,
reporter (the per-worker sender thread), observe, openapi (+ openapi_parts),
fingerprint and schemawatch (schema reload), resources, runtime (`Platform`), cli
(`mobo schema:reload`). See docs/gateway.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import falcon

from components.gateway.platform.cors import CorsMiddleware, CorsPolicy
from components.gateway.platform.limits import RateLimitMiddleware
from components.gateway.platform.observe import ObserveMiddleware
from components.gateway.platform.resources import MetricsResource, OpenApiResource
from components.gateway.platform.runtime import Platform
from mobo.kernel.config import Config

if TYPE_CHECKING:
    from components.gateway.app import Services

__all__ = ["Platform", "mount"]


def mount(app: falcon.App, config: Config, services: Services) -> Platform:
    """Add the platform middleware and routes to `app`; return the Platform."""
    platform = Platform(config, services)
    services.platform = platform  # the gateway's own resources and tests reach it here
    settings = platform.settings
    app.add_middleware(
        [
            ObserveMiddleware(
                platform.metrics,
                platform.reporter,
                settings.trusted_proxies,
                platform.identify,
                platform.on_request,
            ),
            CorsMiddleware(CorsPolicy(settings.cors_origins, settings.cors_max_age)),
            RateLimitMiddleware(settings, platform.limiter, platform.identify, platform.metrics),
        ]
    )
    app.add_route("/metrics", MetricsResource(platform))
    docs = OpenApiResource(platform)
    app.add_route("/rest/v1", docs)
    app.add_route("/rest/v1/", docs)
    return platform
