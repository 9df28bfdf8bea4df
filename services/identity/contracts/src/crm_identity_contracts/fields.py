"""Identity's own field types and rules: emails, role names, new passwords and role grants."""
from __future__ import annotations

from marshmallow import fields, validate

from crm_common.permissions import ACTIONS, RESOURCES, SCOPES

ROLE_NAME = validate.Regexp(r"^[a-z][a-z0-9_]{1,49}$", error="lower-case letters, digits and _, 2 to 50 characters")
EMAIL = [validate.Email(), validate.Length(max=254)]
PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH = 12, 256  # the identity service's password policy
PASSWORD_RULE = ("a new password is not the email address, not a common password, and has at least 4 "
                 "different characters")
SECRET = validate.Length(min=1, max=1024)  # a password as typed (checked against the stored hash)
OTP = validate.Length(min=6, max=12)


class Password(fields.String):
    """A new password. The identity service applies the policy (its length, in the document, and the
    rest, in the description) so that one answer names every broken rule with the request's other
    errors; the schema only bounds the text."""

    def __init__(self, **kw):
        super().__init__(validate=SECRET, load_only=True,
                         metadata={"description": f"{PASSWORD_MIN_LENGTH} to {PASSWORD_MAX_LENGTH} characters; "
                                                  + PASSWORD_RULE}, **kw)

    def openapi_properties(self) -> dict:
        return {"minLength": PASSWORD_MIN_LENGTH, "maxLength": PASSWORD_MAX_LENGTH}


class Grants(fields.Dict):
    """A custom role's grant `{resource: {action: scope}}` ("*" for every resource or action); the
    document names every resource, action and scope."""

    def __init__(self, **kw):
        super().__init__(keys=fields.String(), values=fields.Raw(), **kw)

    def openapi_properties(self) -> dict:
        actions = {"type": "object", "additionalProperties": False,
                   "properties": {a: {"type": "string", "enum": list(SCOPES)} for a in ("*", *ACTIONS)}}
        return {"additionalProperties": False, "properties": {r: actions for r in ("*", *RESOURCES)}}


def Grant(**kw) -> fields.Dict:  # noqa: N802 - a field factory
    """A merged grant as the API shows it: `{resource: {action: scope}}`."""
    return fields.Dict(keys=fields.String(), values=fields.Dict(keys=fields.String(), values=fields.String()), **kw)
