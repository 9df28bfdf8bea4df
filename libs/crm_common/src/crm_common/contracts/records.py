"""What every record's contracts share: custom field values, their definitions' RPCs, custom list filters.

- `CustomValues()`: a record's `custom_fields` object (input and output); the owning service validates each
  value against the definitions (422 naming `custom_fields.<name>`).
- `CustomListQuery`: a list query mixin: `?custom.<name>=value` filters arrive as `custom: {name: value}`;
  `sort=custom.<name>` is accepted (`CUSTOM_SORT`).
- `Tags()` / `TagFilter()`: a record's `tags` and a list's `?tag=`.
- `custom_field_contracts(service)`: the RPCs of a service's custom field definitions (`/api/v1/custom-fields`,
  routed by the gateway to the service owning the `resource`).
"""
from __future__ import annotations

import re
from types import SimpleNamespace

from marshmallow import Schema, ValidationError, fields, validate

from crm_common.contracts.fields import CURSOR_RULE, Boolean, Text, Timestamp
from crm_common.contracts.registry import event, rpc
from crm_common.contracts.schemas import Patch, Record, Strict, page

RESOURCES = ("lead", "account", "contact", "opportunity", "ticket")  # the records that take custom fields
TYPES = ("text", "number", "decimal", "date", "boolean", "choice", "multi_choice", "user", "url", "email")
OWNERS = {"lead": "sales", "account": "sales", "contact": "sales", "opportunity": "sales", "ticket": "service_desk"}
NAME_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
_CUSTOM_KEY = re.compile(r"^custom\.([a-z][a-z0-9_]{0,39})$")
VALUES_DESCRIPTION = ("the record's custom fields, by name (GET /api/v1/custom-fields?resource=...): text, choice, "
                      "user, url, email and date (YYYY-MM-DD) as strings, number as an integer, decimal as a "
                      "decimal string, boolean as true/false, multi_choice as a list of strings; null clears a field")


def CustomValues(**kwargs):  # noqa: N802 - a field factory
    return fields.Dict(keys=fields.String(validate=validate.Regexp(NAME_PATTERN)), values=fields.Raw(allow_none=True),
                       metadata={"description": VALUES_DESCRIPTION}, **kwargs)


class TagList(fields.List):
    """Dumps a record without tags (a row written before tags existed, or by a bulk insert) as [], never null."""

    def _serialize(self, value, attr, obj, **kwargs):
        return [] if value is None else super()._serialize(value, attr, obj, **kwargs)


def Tags(**kwargs):  # noqa: N802 - a field factory
    """A record's `tags`: up to 20 labels of 1 to 50 characters (a repeated tag is kept once)."""
    return TagList(Text(validate=validate.Length(min=1, max=50)), validate=validate.Length(max=20), **kwargs)


def TagFilter():  # noqa: N802
    return Text(validate=validate.Length(min=1, max=50), metadata={"description": "records carrying this tag"})


class CustomListQuery(Schema):
    """Mixin of a list query: `?custom.<name>=value` (each at most 200 characters) is loaded as
    `custom: {name: value}` and `sort` may be `custom.<name>` (the service checks the field exists)."""

    CUSTOM_SORT = True

    def _do_load(self, data, *args, **kwargs):
        keys = [key for key in data.keys() if isinstance(key, str) and key.startswith("custom.")]
        if isinstance(data, dict) and isinstance(data.get("custom"), dict):  # loaded once, by the gateway
            data = dict(data)
            keys += [f"custom.{name}" for name in data["custom"]]
            data.update({f"custom.{name}": value for name, value in data.pop("custom").items()})
        if not keys:
            return super()._do_load(data, *args, **kwargs)
        custom, errors = {}, {}
        for key in keys:
            match, value = _CUSTOM_KEY.match(key), data[key]
            if match is None:
                errors[key] = ["a custom field name: lower case letters, digits and _"]
            elif not isinstance(value, str) or len(value) > 200:
                errors[key] = ["one value of at most 200 characters"]
            else:
                custom[match.group(1)] = value
        rest = {key: data[key] for key in data.keys() if key not in keys}
        try:
            result = super()._do_load(rest, *args, **kwargs)
        except ValidationError as exc:
            if isinstance(exc.messages, dict):
                exc.messages.update(errors)
            raise
        if errors:
            raise ValidationError(errors)
        result["custom"] = custom
        return result


class CustomFieldIn(Strict):
    RULES = ("choices are given for a choice or multi_choice field only; the default is a valid value; a name is "
             "used once per resource", "the resource is one its service owns")

    resource = fields.String(required=True, validate=validate.OneOf(RESOURCES))
    name = fields.String(required=True, validate=validate.Regexp(NAME_PATTERN))
    label = Text(required=True, validate=validate.Length(min=1, max=200))
    type = fields.String(required=True, validate=validate.OneOf(TYPES))
    required = Boolean(load_default=False)
    default = fields.Raw(load_default=None, allow_none=True)
    unique = Boolean(load_default=False)
    choices = fields.List(Text(validate=validate.Length(min=1, max=100)), load_default=list,
                          validate=validate.Length(max=200))


class CustomFieldPatch(Patch):
    RULES = CustomFieldIn.RULES[:1]

    label = Text(validate=validate.Length(min=1, max=200))
    required = Boolean()
    default = fields.Raw(allow_none=True)
    unique = Boolean()
    choices = fields.List(Text(validate=validate.Length(min=1, max=100)), validate=validate.Length(max=200))


class CustomField(Record):
    resource = fields.String(required=True)
    name = fields.String(required=True)
    label = fields.String()
    type = fields.String()
    required = fields.Boolean()
    default = fields.Raw(allow_none=True)
    unique = fields.Boolean()
    choices = fields.List(fields.String())


class CustomFieldQuery(Strict):
    resource = fields.String(required=True, validate=validate.OneOf(RESOURCES))


CustomFieldPage = page(CustomField, "CustomFieldPage")


def custom_field_contracts(service: str) -> SimpleNamespace:
    """The RPCs of `service`'s custom field definitions (permission: custom_field)."""
    return SimpleNamespace(
        LIST=rpc(service, "list_custom_fields", CustomFieldQuery, CustomFieldPage,
                 permission=("custom_field", "read")),
        CREATE=rpc(service, "create_custom_field", CustomFieldIn, CustomField, permission=("custom_field", "create")),
        GET=rpc(service, "get_custom_field", None, CustomField, permission=("custom_field", "read"), record=True),
        UPDATE=rpc(service, "update_custom_field", CustomFieldPatch, CustomField,
                   permission=("custom_field", "update"), record=True),
        DELETE=rpc(service, "delete_custom_field", None, None, permission=("custom_field", "delete"), record=True),
    )


# -- comments ---------------------------------------------------------------------------------------------

class CommentIn(Strict):
    body = Text(required=True, validate=validate.Length(min=1, max=20000),
                metadata={"description": "rich text (cleaned); `@<email>` mentions a user, who is notified"})


class RecordComment(Schema):
    id = fields.String(required=True)
    resource = fields.String()
    record_id = fields.String()
    author_id = fields.String(allow_none=True)
    body = fields.String()
    mentions = fields.List(fields.String(), metadata={"description": "the ids of the users mentioned"})
    created_at = Timestamp()
    updated_at = Timestamp()
    edited_at = Timestamp(allow_none=True, metadata={"description": "when its body was last edited (null: never)"})


class CommentQuery(Strict):
    RULES = (CURSOR_RULE,)

    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    cursor = Text(load_default=None, allow_none=True)


class CommentMentionedData(Schema):
    comment_id = fields.String(required=True)
    resource = fields.String(required=True)
    record_id = fields.String(required=True)
    mentioned_user_id = fields.String(required=True)
    author_id = fields.String(allow_none=True)


RecordCommentPage = page(RecordComment, "RecordCommentPage")


def comment_contracts(service: str, resource: str) -> SimpleNamespace:
    """The RPCs of the comments on `service`'s `resource` records: who may read the record reads them, who may
    change it comments."""
    return SimpleNamespace(
        LIST=rpc(service, f"list_{resource}_comments", CommentQuery, RecordCommentPage,
                 permission=(resource, "read"), record=True),
        CREATE=rpc(service, f"create_{resource}_comment", CommentIn, RecordComment, permission=(resource, "update"),
                   record=True),
        UPDATE=rpc(service, f"update_{resource}_comment", CommentIn, RecordComment, permission=(resource, "update"),
                   record=True, description="Edit a comment (`comment_id`): its author or an administrator only."),
        DELETE=rpc(service, f"delete_{resource}_comment", None, None, permission=(resource, "update"), record=True,
                   description="Delete a comment (`comment_id`): its author or an administrator only."),
    )


def comment_mentioned_event(service: str):
    return event(service, "comment_mentioned", 1, CommentMentionedData,
                 "A comment on a record mentioned a user (@email): notify them.", entity="comment", action="create")


# -- attachments ------------------------------------------------------------------------------------------

class AttachmentUpload(Strict):
    filename = Text(required=True, validate=validate.Length(min=1, max=500))
    content_base64 = fields.String(required=True, metadata={"description": "the file's bytes, base64"})


class Attachment(Schema):
    id = fields.String(required=True)
    resource = fields.String()
    record_id = fields.String()
    filename = fields.String()
    content_type = fields.String(metadata={"description": "read from the bytes"})
    size = fields.Integer()
    created_by = fields.String(allow_none=True)
    created_at = Timestamp()


class AttachmentContent(Attachment):
    content_base64 = fields.String()


class AttachmentQuery(Strict):
    pass


AttachmentPage = page(Attachment, "AttachmentPage")


def attachment_contracts(service: str, resources: tuple[str, ...]) -> SimpleNamespace:
    """The RPCs of files on `service`'s records: per resource, upload (`<resource>.update`) and list
    (`<resource>.read`); by attachment id, content and delete (the record's scope decides: 404 otherwise)."""
    per = {resource: SimpleNamespace(
        UPLOAD=rpc(service, f"upload_{resource}_attachment", AttachmentUpload, Attachment,
                   permission=(resource, "update"), record=True),
        LIST=rpc(service, f"list_{resource}_attachments", AttachmentQuery, AttachmentPage,
                 permission=(resource, "read"), record=True)) for resource in resources}
    return SimpleNamespace(
        by_resource=per,
        CONTENT=rpc(service, "attachment_content", None, AttachmentContent, record=True,
                    permission=("attachment", "read"),
                    description="The file and its bytes, for a caller who may read its record."),
        DELETE=rpc(service, "delete_attachment", None, None, record=True,
                   permission=("attachment", "delete"),
                   description="Remove a file, for a caller who may change its record."),
    )
