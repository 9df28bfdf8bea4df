"""Contracts of the kernel itself (used by the platform's own probes and fault tests)."""
from marshmallow import Schema, fields

from crm_common.contracts.fields import Boolean
from crm_common.contracts.registry import event


class ProbeData(Schema):
    key = fields.String(required=True)
    seq = fields.Integer(load_default=0)
    fail_times = fields.Integer(load_default=0)  # the probe consumer fails this many times first
    always_fail = Boolean(load_default=False)


PROBE_EMITTED = event("platform", "probe_emitted", 1, ProbeData, "A probe record was written (tests, benchmarks).")
