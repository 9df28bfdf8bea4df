"""Probes: /healthz (the process is up) and /readyz (broker and every service answer an RPC ping)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from flask import current_app
from marshmallow import Schema, fields

from crm_common.errors import ServiceError
from crm_gateway.auth import public
from crm_gateway.conventions import Blueprint
from crm_gateway.problems import problem

blp = Blueprint("platform", __name__, description="Probes")
_pinger = ThreadPoolExecutor(max_workers=8, thread_name_prefix="readyz")


class HealthSchema(Schema):
    status = fields.String(required=True)


class ReadySchema(Schema):
    status = fields.String(required=True)
    services = fields.Dict(keys=fields.String(), values=fields.String())


@blp.route("/healthz")
@blp.response(200, HealthSchema)
@public
def healthz():
    return {"status": "ok"}


@blp.route("/readyz")
@blp.response(200, ReadySchema)
@public
def readyz():
    services = current_app.extensions["crm_settings"].services
    rpc = current_app.extensions["crm_rpc_probe"]

    def ping(service):
        try:
            rpc.call(service, "health")
            return service, "ok"
        except ServiceError as exc:
            return service, exc.code
        except Exception as exc:  # anything else means not ready, never a 500
            return service, type(exc).__name__

    results = dict(_pinger.map(ping, services))
    missing = sorted(s for s, state in results.items() if state != "ok")
    if missing:
        return problem(503, f"not ready: {', '.join(missing)} did not answer", code="unavailable",
                       missing=missing, services=results)
    return {"status": "ready", "services": results}


blueprints = [blp]
