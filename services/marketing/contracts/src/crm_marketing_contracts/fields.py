"""Field types of the marketing contracts: an e-mail address as the suppression list and consents keep it."""
from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from marshmallow import ValidationError, validate

from crm_common.contracts.fields import Text

EMAIL_RULE = ("email is an address by email-validator's syntax rules (no DNS or deliverability check; "
              "reserved domains such as .test or .localhost are refused), taken trimmed and lower-cased")


def normalise_email(value: str) -> str:
    """The address as it is stored and hashed: trimmed, checked by email-validator's syntax rules (no
    DNS lookup), its domain normalised (IDNA: `xn--bcher-kva.example` is `bücher.example`), lower-cased.
    Raises ValueError with the reason when it is not an address."""
    raw = value.strip()
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None


def normalise_email_leniently(value: str) -> str:
    """`normalise_email`, or the text trimmed and lower-cased when it is no valid address (an address
    another service sends, e.g. in a privacy request: it must still find what was stored)."""
    try:
        return normalise_email(value)
    except ValueError:
        return value.strip().lower()


class EmailAddress(Text):
    """An e-mail address (EMAIL_RULE); loads as `normalise_email` gives it, so loading twice (the gateway,
    then the service) gives the same value."""

    def __init__(self, **kwargs):
        metadata = {"format": "email", "example": "ada@example.com", "description": EMAIL_RULE,
                    **kwargs.pop("metadata", {})}
        super().__init__(validate=validate.Length(min=3, max=254), metadata=metadata, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        try:
            return normalise_email(text)
        except ValueError as exc:
            raise ValidationError(f"not an e-mail address: {exc}") from None
