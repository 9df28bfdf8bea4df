"""service.py is a table: every RPC contract of the service has its entrypoint, under the contract's name."""
from __future__ import annotations

import crm_service_desk_contracts  # noqa: F401 - registers the contracts
from crm_common.contracts.registry import RPCS
from crm_service_desk.service import ServiceDeskService


def test_every_contract_has_its_entrypoint_and_every_entrypoint_its_contract():
    declared = {c.method for c in RPCS.values() if c.service == "service_desk"}
    served = {name for name in declared if callable(getattr(ServiceDeskService, name, None))}
    assert sorted(declared - served) == []
    assert all(getattr(ServiceDeskService, name).__name__ == name for name in served)


def test_record_contracts_take_the_id_and_no_input_names_it():
    for contract in (c for c in RPCS.values() if c.service == "service_desk"):
        fields = set(contract.input._declared_fields) if contract.input is not None else set()
        assert "id" not in fields and "invitation_id" not in fields, contract.method
