"""Every PATCH route changes only the fields sent, and refuses an empty body with a 422 (a PATCH that says
nothing is a client's mistake, not a silent success): its input schema is a `Patch`, or one whose only
field is required (a status change)."""
from __future__ import annotations

import importlib

import pytest

from crm_common.contracts.schemas import Patch
from crm_gateway.routes import MODULES


def patch_routes():
    for name in MODULES:
        for route in getattr(importlib.import_module(f"crm_gateway.routes.{name}"), "ROUTES", []):
            if route.method == "PATCH":
                yield pytest.param(route, id=f"{route.method} {route.path}")


@pytest.mark.parametrize("route", list(patch_routes()))
def test_a_patch_route_takes_a_partial_update_and_refuses_an_empty_one(route):
    schema = route.contract.input
    assert schema is not None
    errors = schema().validate({})
    required = [name for name, f in schema().fields.items() if f.required]
    if required:  # a status change: the status is the one thing to send
        assert errors == {name: ["Missing data for required field."] for name in required}
    else:
        assert issubclass(schema, Patch) and errors == {"_schema": ["send at least one field to change"]}


def test_there_are_patch_routes_in_every_business_context():
    contexts = {route.values[0].contract.service for route in patch_routes()}
    assert {"identity", "sales", "service_desk", "marketing"} <= contexts
