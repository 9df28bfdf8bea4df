"""The sales contracts' own field shorthands (codes, ids, names, bounded text) and event data bases.

Everything else comes from the kernel's one set: `crm_common.contracts.fields` (Timestamp, Text, Money,
Percent, Day, Boolean...) and `crm_common.contracts.schemas` (Strict, Record, ListQuery, page).
"""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts.fields import Text


def Currency(**kw):  # noqa: N802 - field factories
    return fields.String(validate=validate.Regexp(r"^[A-Z]{3}$", error="an ISO 4217 code like EUR"), **kw)


def Country(**kw):  # noqa: N802
    return fields.String(validate=validate.Regexp(r"^[A-Z]{2}$", error="an ISO 3166 alpha-2 code like DE"), **kw)


def Id(**kw):  # noqa: N802
    return fields.String(validate=validate.Length(min=1, max=36), **kw)


def Name(n: int = 200, **kw):  # noqa: N802
    """Text that is not empty, at most `n` characters."""
    return Text(validate=validate.Length(min=1, max=n), **kw)


def TextUpTo(n: int = 200, **kw):  # noqa: N802
    """Text of at most `n` characters (may be empty)."""
    return Text(validate=validate.Length(max=n), **kw)


PERIOD_RE = r"^(19|2[0-9])[0-9]{2}(-Q[1-4]|-(0[1-9]|1[0-2]))?$"  # years 1900-2999


def Period(**kw):  # noqa: N802
    return fields.String(validate=validate.Regexp(PERIOD_RE, error="like 2026-Q4, 2026-11 or 2026"), **kw)


EMAIL_RULE = "email is an address with a deliverable syntax (an empty string clears it)"
PHONE_RULE = "phone is a valid number: international (+49 30 1234567), or national in the record's country"


def Email(**kw):  # noqa: N802
    return fields.String(validate=validate.Length(max=254), metadata={"description": EMAIL_RULE}, **kw)


def Phone(**kw):  # noqa: N802
    return fields.String(validate=validate.Length(max=40), metadata={"description": PHONE_RULE + "; stored in E.164"},
                         **kw)


# -- event data bases ------------------------------------------------------------------------------

class EntityData(Schema):
    """An event about one record."""

    id = fields.String(required=True)


class ChangedData(EntityData):
    changed_fields = fields.List(fields.String(), required=True)


class MergedData(EntityData):
    merged_ids = fields.List(fields.String(), required=True)
