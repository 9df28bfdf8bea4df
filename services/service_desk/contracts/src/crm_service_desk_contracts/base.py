"""What every area's contracts build on: the owner, the value sets, the desk's field helpers, and how an
area declares its events and RPC methods (the kernel's registry, with the owner filled in)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from crm_common.contracts import registry
from crm_common.contracts.fields import Text
from crm_common.contracts.schemas import page

OWNER = "service_desk"

CHANNELS = ("web", "email", "phone", "chat", "social", "portal")
TYPES = ("question", "incident", "problem", "complaint", "request")
PRIORITIES = ("low", "normal", "high", "urgent")
STATUSES = ("new", "open", "pending", "on_hold", "solved", "closed", "reopened")
GRADES = ("A", "B", "C")
ASSIGNMENT = ("round_robin", "least_loaded", "none")
ARTICLE_STATUSES = ("draft", "published")
CONTRACT_KINDS = ("support", "warranty")
COMPLAINT_STATUSES = ("received", "acknowledged", "resolved")
SEVERITIES = ("low", "normal", "high", "critical")
MAX_MINUTES = 365 * 24 * 60


class EmailText(Text, fields.Email):
    """An email address that any database can store."""


class QueryFlag(fields.Boolean):
    """A query parameter's flag: `true` or `false` only (a value loaded once passes through)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        raise self.make_error("invalid")


def ident(**kw) -> Text:
    """The id of a record (of this service or another)."""
    return Text(validate=validate.Length(min=1, max=36), **kw)


def choice(values: tuple[str, ...], **kw) -> Text:
    return Text(validate=validate.OneOf(values), **kw)


def text(max_len: int, **kw) -> Text:
    return Text(validate=validate.Length(max=max_len), **kw)


def required_text(max_len: int, **kw) -> Text:
    return Text(required=True, validate=validate.Length(min=1, max=max_len), **kw)


def minutes(**kw) -> fields.Integer:
    """A duration in minutes, up to a year."""
    return fields.Integer(strict=True, validate=validate.Range(min=1, max=MAX_MINUTES), **kw)


def event(name: str, schema: type[Schema], description: str, entity: str, action: str) -> str:
    return registry.event(OWNER, name, 1, schema, description, entity=entity, action=action)


def rpc(method: str, input: type[Schema] | None = None, output: type[Schema] | None = None, description: str = "",
        permission: tuple[str, str] | None = None, record: bool = False) -> registry.RpcContract:
    return registry.rpc(OWNER, method, input=input, output=output, description=description,
                        permission=permission, record=record)


def crud(resource: str, schema: type[Schema], create: type[Schema], update: type[Schema], query: type[Schema],
         plural: str | None = None) -> tuple[registry.RpcContract, ...]:
    """create_, list_, get_, update_ and delete_<resource>: the plain contracts of a resource, each with its
    permission on `resource` (list_<plural> answers a page)."""
    plural = plural or resource + "s"
    return (rpc(f"create_{resource}", create, schema, permission=(resource, "create")),
            rpc(f"list_{plural}", query, page(schema, f"{schema.__name__.removesuffix('Schema')}Page"),
                permission=(resource, "read")),
            rpc(f"get_{resource}", None, schema, permission=(resource, "read"), record=True),
            rpc(f"update_{resource}", update, schema, permission=(resource, "update"), record=True),
            rpc(f"delete_{resource}", None, None, permission=(resource, "delete"), record=True))
