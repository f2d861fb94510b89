"""A gunicorn entry for the e2e tests: the gateway's app for the board in $MOBO_HOME.

`gunicorn 'tests.e2e.gateway_app:build()'` serves exactly what the gateway card serves
(create_app with the board's config), without supervisord around it.
"""

from __future__ import annotations

import falcon

from components.gateway.app import Services, create_app
from mobo.kernel.config import load_config
from mobo.kernel.keys import Keys
from mobo.kernel.registry import Registry
from tests.conftest import REDIS_URL


def build() -> falcon.App:
    config = load_config()
    services = Services(REDIS_URL, Keys(config.namespace), Registry.discover().names)
    return create_app(config, services)
