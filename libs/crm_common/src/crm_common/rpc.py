"""RPC entrypoints bound to their contract: input loaded (422 on bad input), output dumped by schema."""
from __future__ import annotations

import functools

from marshmallow import ValidationError
from nameko.rpc import rpc

from crm_common.contracts.registry import RpcContract
from crm_common.errors import ServiceError, validation


def load_input(contract: RpcContract, payload):
    if contract.input is None:
        return payload
    try:
        return contract.input().load(payload if payload is not None else {})
    except ValidationError as exc:
        errors = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        raise validation(errors) from None


def dump_output(contract: RpcContract, result):
    if contract.output is None or result is None:
        return result
    return contract.output(many=contract.many).dump(result)


def contract_rpc(contract: RpcContract):
    """`@contract_rpc(contracts.sales.CREATE_LEAD)` on `def create_lead(self, data, **kwargs)`."""

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(self, payload=None, **kwargs):
            return dump_output(contract, fn(self, load_input(contract, payload), **kwargs))

        return rpc(expected_exceptions=ServiceError)(wrapper)

    return decorate
