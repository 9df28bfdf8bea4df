"""Field checks shared by leads, contacts and accounts: email addresses and phone numbers."""
from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from crm_common.errors import validation
from crm_sales.domain import e164

# what most addresses look like; anything else goes through email-validator's full rules
_PLAIN_EMAIL = re.compile(r"^[a-z0-9][a-z0-9._%+-]{0,63}@(?:[a-z0-9-]{1,63}\.)+[a-z]{2,24}$")


@lru_cache(maxsize=4096)
def _domain_ok(domain: str) -> bool:
    try:
        validate_email(f"x@{domain}", check_deliverability=False)
        return True
    except EmailNotValidError:
        return False


def email(value: str | None) -> str | None:
    """The address normalized (lower case), or ValueError with the reason."""
    if value is None or not value.strip():
        return None
    raw = value.strip().lower()
    if _PLAIN_EMAIL.match(raw) and ".." not in raw and not raw.split("@")[0].endswith("."):
        if _domain_ok(raw.split("@", 1)[1]):
            return raw
    try:
        return validate_email(raw, check_deliverability=False).normalized.lower()
    except EmailNotValidError as exc:
        raise ValueError(str(exc)) from None


def phone(value: str | None, country: str | None = None) -> str | None:
    """The number in E.164 (`+4930123456`); national formats need the record's country."""
    if value is None or not value.strip():
        return None
    quick = e164.valid_international(value.strip(), country)
    if quick is not None:
        return quick
    try:
        number = phonenumbers.parse(value.strip(), country if not value.strip().startswith("+") else None)
    except phonenumbers.NumberParseException:
        raise ValueError("not a phone number; use the international format like +49 30 1234567") from None
    if country and country in phonenumbers.region_codes_for_country_code(number.country_code):
        if phonenumbers.is_valid_number_for_region(number, country):  # the usual case, one region to check
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if not phonenumbers.is_valid_number(number):
        raise ValueError("not a valid phone number; use the international format like +49 30 1234567")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def contact_fields(data: dict, country: str | None = None) -> dict:
    """Normalize `email` and `phone` in `data` in place; 422 listing every bad field."""
    errors = {}
    if "email" in data:
        try:
            data["email"] = email(data["email"])
        except ValueError as exc:
            errors["email"] = [str(exc)]
    if "phone" in data:
        try:
            data["phone"] = phone(data["phone"], data.get("country") or country)
        except ValueError as exc:
            errors["phone"] = [str(exc)]
    if errors:
        raise validation(errors)
    return data


def key(text: str | None) -> str | None:
    """A comparison key for names: lower case, single spaces, no punctuation at the ends."""
    if not text:
        return None
    return " ".join(re.sub(r"[^\w\s&-]", " ", text.lower()).split()) or None
