"""The sales settings: business values administrators configure."""
from __future__ import annotations

from marshmallow import fields, validate

from crm_common.contracts.fields import Money, Percent
from crm_common.contracts.registry import rpc
from crm_common.contracts.schemas import Patch, Strict
from crm_sales_contracts.field_types import Id


class SalesSettings(Strict):
    """Configurable business values (administrators change them)."""

    RULES = ("grade_thresholds names both A and B, A above B",)

    grade_thresholds = fields.Dict(keys=fields.String(validate=validate.OneOf(("A", "B"))), values=Money(minimum=0),
                                   metadata={"description": "total order value for grade A and B, else C"})
    loyal_after_orders = fields.Integer(strict=True, validate=validate.Range(min=2, max=1000))
    churn_after_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=3650))
    discount_approval_percent = Percent(metadata={"description": "line discounts above need approval"})
    renewal_reminder_days = fields.Integer(strict=True, validate=validate.Range(min=1, max=3650))
    commission_rate_percent = Percent()
    commission_rates = fields.Dict(keys=Id(), values=Percent(),
                                   metadata={"description": "user id -> commission percent"})


GET_SETTINGS = rpc("sales", "get_settings", None, SalesSettings, permission=("forecast", "read"),
                   description="Sales settings: grade thresholds, discount limit, reminders, commission.")
class SalesSettingsChange(SalesSettings, Patch):
    """The settings to change (those not sent stay)."""


UPDATE_SETTINGS = rpc("sales", "update_settings", SalesSettingsChange, SalesSettings, permission=("*", "admin"),
                      description="Change sales settings (administrators).")
