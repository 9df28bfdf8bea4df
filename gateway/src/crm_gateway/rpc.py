"""Calling services from a request: the caller and request id travel with every call."""
from __future__ import annotations

from flask import current_app, g

from crm_common.rpcclient import RpcPool


def pool() -> RpcPool:
    return current_app.extensions["crm_rpc"]


def call(service: str, method: str, *args, **kwargs):
    """RPC to a service as the authenticated caller; ServiceError becomes a problem response."""
    return pool().call(service, method, *args, actor=getattr(g, "actor", None),
                       request_id=getattr(g, "request_id", None), **kwargs)
