"""schemathesis against the OpenAPI document MagGate serves at `GET /rest/v1/`: requests
generated from it, on every engine, are never answered with a 5xx.

The gateway's app runs in this process (tests/security/conftest.py `app`); requests carry
the service key so they reach the stores. Every operation of the document gets a few
examples, driven with hypothesis directly (schemathesis' pytest loader needs pytest < 9).
"""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.security.conftest import App

EXAMPLES = settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))


def keyed(key: str) -> dict[str, str]:
    return {"apikey": key, "Authorization": f"Bearer {key}"}


def load(app: App) -> Any:
    return schemathesis.openapi.from_wsgi("/rest/v1/", app.app, headers=keyed(app.service_key))


def test_the_document_lists_the_tables(app: App) -> None:
    paths = load(app).raw_schema["paths"]
    assert {"/todos", "/lists", "/secrets"} <= set(paths), sorted(paths)


def test_no_server_errors(app: App) -> None:
    failures: list[str] = []
    operations = 0
    for result in load(app).get_all_operations():
        operation = result.ok()
        operations += 1

        @EXAMPLES
        @given(case=operation.as_strategy())
        def run(case: schemathesis.Case) -> None:
            response = case.call(headers=keyed(app.service_key))
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} query={case.query} body={case.body!r}: "
                f"{response.status_code} {response.text[:600]}"
            )

        try:
            run()
        except AssertionError as exc:
            failures.append(str(exc))
    assert operations > 0
    assert not failures, "\n".join(failures)
