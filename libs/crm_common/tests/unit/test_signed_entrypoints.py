"""Every RPC entrypoint of every service verifies its caller's signature (crm_common.rpc.SignedRpc)."""
from __future__ import annotations

import importlib

import pytest
from nameko.rpc import Rpc
from nameko.extensions import ENTRYPOINT_EXTENSIONS_ATTR

from crm_common.rpc import SignedRpc
from crm_common.suite import SERVICE_TARGETS


@pytest.mark.parametrize("service", sorted(SERVICE_TARGETS))
def test_every_rpc_entrypoint_verifies_the_caller(service):
    module, name = SERVICE_TARGETS[service].split(":")
    cls = getattr(importlib.import_module(module), name)
    rpcs = {}
    for attr in dir(cls):
        for entrypoint in getattr(getattr(cls, attr), ENTRYPOINT_EXTENSIONS_ATTR, ()):
            if isinstance(entrypoint, Rpc):
                rpcs[attr] = type(entrypoint)
    assert {"health", "dead_letters", "replay_dead_letters"} <= set(rpcs)
    assert {attr: kind for attr, kind in rpcs.items() if kind is not SignedRpc} == {}
