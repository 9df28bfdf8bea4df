"""Contracts of the kernel itself (used by the platform's own probes and fault tests)."""
from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Boolean
from crm_common.contracts.registry import event


class ProbeData(Schema):
    key = fields.String(required=True)
    seq = fields.Integer(load_default=0)
    fail_times = fields.Integer(load_default=0)  # the probe consumer fails this many times first
    always_fail = Boolean(load_default=False)


PROBE_EMITTED = event("platform", "probe_emitted", 1, ProbeData, "A probe record was written (tests, benchmarks).")


AUDITED_ACTIONS = ("create", "update", "delete", "export", "assign", "approve")


class RecordChangedData(Schema):
    """The data of a service's generic `<service>.record_changed.v1` event: a change to a record that has
    no event of its own (configuration, price book, targets...), so that it still reaches the audit trail
    (who, what, which record, which fields) and any read model that follows the record."""
    entity = fields.String(required=True, metadata={"description": "the resource, e.g. product or lead"})
    id = fields.String(required=True)
    action = fields.String(required=True, validate=validate.OneOf(AUDITED_ACTIONS))
    changed_fields = fields.List(fields.String(), load_default=list)
    definition = fields.Dict(allow_none=True, metadata={
        "description": "entity custom_field: the definition as it now stands (resource, name, label, type, choices), "
                       "so that a read model (analytics reports) knows the field without asking"})


class PrivacyPartSchema(Schema):
    """`<service>.privacy_part_completed.v1`: one service's answer to a privacy request (every service
    that holds personal data answers with this shape; identity collects the answers)."""

    request_id = fields.String(required=True)
    service = fields.String(required=True)
    status = fields.String(required=True, validate=validate.OneOf(("done", "failed")))
    data = fields.Dict(load_default=None, allow_none=True)  # export only: what the service holds
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(strict=True), load_default=dict)


def privacy_part_completed(service: str, **audited) -> str:
    """Declare `<service>.privacy_part_completed.v1` for a service that answers privacy requests
    (`entity=`, `action=` when the answer is an audited change)."""
    return event(service, "privacy_part_completed", 1, PrivacyPartSchema,
                 f"The {service} service's part of a privacy request is done.", **audited)
