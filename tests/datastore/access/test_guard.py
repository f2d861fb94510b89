"""The Guard: one caller under one store's permissions, refusing with MagDS's domain errors;
and the gateway rendering those refusals with PostgREST's body, as before they moved."""

from __future__ import annotations

import json

import falcon
import pytest
from falcon import testing

from components.datastore import query as q
from components.datastore.access import (
    AccessDenied,
    Guard,
    PermissionDenied,
    RowPolicyViolation,
    parse_permissions,
)
from components.gateway import errors as gateway_errors
from components.gateway.rest import errors
from mobo.principal import Principal

PERMS = parse_permissions("main", "sqlite", {"t": {"authenticated": ["all"], "owner": "uid"}})


def test_guard_owner_filters_and_forced_owner() -> None:
    user = Guard(PERMS, Principal("authenticated", {"sub": "u1"}))
    assert user.scope("t", "select") == q.Cond("uid", "eq", "u1")
    assert user.own("t", [{"a": 1}, {"a": 2, "uid": "u1"}]) == (
        {"a": 1, "uid": "u1"},
        {"a": 2, "uid": "u1"},
    )
    with pytest.raises(RowPolicyViolation):
        user.own("t", [{"uid": "u2"}])
    anon = Guard(PERMS, Principal("anon", {"role": "anon"}))
    with pytest.raises(PermissionDenied) as caught:
        anon.check("t", "select")
    assert caught.value.anonymous and caught.value.code == "42501"
    service = Guard(PERMS, Principal("service_role"))
    assert service.scope("t", "select") is None and service.own("t", [{"uid": "x"}])
    assert Guard(None, Principal("anon")).scope("t", "select") is None


def test_refusals_are_domain_errors_with_postgresql_wording() -> None:
    user = Guard(PERMS, Principal("authenticated", {"sub": "u1"}))
    with pytest.raises(RowPolicyViolation) as caught:
        user.check_values("t", {"uid": "u2"})
    assert str(caught.value) == 'new row violates row-level security policy for table "t"'
    assert not caught.value.anonymous and caught.value.hint is None
    with pytest.raises(PermissionDenied) as denied:
        user.check("other", "select")
    assert str(denied.value) == "permission denied for table other"
    assert isinstance(denied.value, AccessDenied) and denied.value.details is None


@pytest.mark.parametrize(
    ("principal", "status"),
    [(Principal("anon", {"role": "anon"}), 401), (Principal("authenticated", {"sub": "u"}), 403)],
)
def test_the_gateway_renders_a_refusal_as_postgrest_did(principal: Principal, status: int) -> None:
    with pytest.raises(PermissionDenied) as caught:
        Guard(PERMS, principal).check("other", "insert")
    rendered = errors.from_datastore(caught.value, anonymous=principal.role == "anon")
    assert rendered.status.startswith(str(status))
    # the body the gateway answered before the guard moved out of it
    assert rendered.body == {
        "code": "42501",
        "message": "permission denied for table other",
        "details": None,
        "hint": None,
    }


def test_a_refusal_raised_by_any_route_is_mapped_once() -> None:
    app = falcon.App()
    gateway_errors.install(app)

    class Refusing:
        def on_get(self, req: falcon.Request, resp: falcon.Response) -> None:
            Guard(PERMS, Principal("authenticated", {"sub": "u1"})).own("t", [{"uid": "u2"}])

    app.add_route("/x", Refusing())
    got = testing.TestClient(app).simulate_get("/x")
    assert got.status_code == 403
    assert got.text == json.dumps(
        {
            "code": "42501",
            "message": 'new row violates row-level security policy for table "t"',
            "details": None,
            "hint": None,
        }
    )
