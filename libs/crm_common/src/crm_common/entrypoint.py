"""The one way a service exposes its domain: an RPC per contract, an event table per consumer.

    class SalesService(KernelService):
        name = "sales"
        db = Database(Base.metadata)
        on_event = event_stream(handlers.HANDLERS)

        create_lead = entrypoint(c.CREATE_LEAD, leads.create)      # leads.create(ctx, data)
        get_lead = entrypoint(c.GET_LEAD, leads.get)               # leads.get(ctx, record_id)
        update_lead = entrypoint(c.UPDATE_LEAD, leads.update)      # leads.update(ctx, record_id, data, expected_version=None)

An entrypoint refuses a caller without the contract's permission (before any work), loads the input
with the contract's schema (422), opens one transaction, hands the domain function one `Context` and
the record id (the call's `id` keyword, for a contract with `record=True`) and the loaded input, then
dumps the result with the contract's output schema (a call with a signed Idempotency-Key keeps that
answer with the key in the same transaction, and a repeat of the key gets it back: `run_once`,
crm_common.idempotency). Any other keyword of the call (`expected_version`,
`client_ip`) is passed on as a keyword.

A consumer's handlers take `(ctx, data, envelope)`: `data` is the event's data read through the slim
schema the handler declares with `@reads` (a tolerant reader: fields it does not name are ignored, so
a producer may add fields), `ctx.caller` the system.
"""
from __future__ import annotations

import functools
from typing import Callable

from marshmallow import EXCLUDE, Schema

from crm_common import ahead, folded, idempotency
from crm_common.context import Actor, Context  # noqa: F401 - Context: the domain's, re-exported
from crm_common.contracts.registry import RpcContract
from crm_common.errors import ServiceError, forbidden
from crm_common.privacy import PRIVACY_REQUESTED
from crm_common.rpc import dump_output, load_input, rpc


def check_permission(contract: RpcContract, caller: Actor) -> None:
    if contract.permission is not None and not caller.can(*contract.permission):
        resource, action = contract.permission
        raise forbidden(f"your role may not {action} {resource} records")


def run(service, fn: Callable, *args, **kwargs):
    """Run `fn(ctx, *args, **kwargs)` in one transaction of `service.db`, then its after-commit work."""
    uow = service.db
    caller = uow.caller
    with uow.transaction() as session:
        ctx = Context(session, caller, uow.emit, uow.request_id, service, uow)
        result = fn(ctx, *args, **kwargs)
    for after in ctx._after:
        after()
    return result


def run_once(service, contract: RpcContract, fn: Callable, *args, **kwargs):
    """`fn(ctx, *args, **kwargs)`, its answer dumped, in one transaction of `service.db` that also keeps the
    call's Idempotency-Key with that answer; or the answer already kept for the key (crm_common.idempotency),
    with `service.db.replayed` set: the reply then tells the caller it is a replay (rpc.SignedRpc.handle_result).
    The answer is dumped inside the transaction, once the session is flushed (ids, defaults, versions set)."""
    uow = service.db
    caller, call = uow.caller, uow.idempotent
    owner = idempotency.owner_of(caller)
    try:
        with uow.transaction() as session:
            folded.begin(session)  # on PostgreSQL its BEGIN goes with the look-up, its COMMIT with the kept answer
            kept = idempotency.find(session, uow.metadata, owner, call, contract.method,
                                    ahead.of(fn, args, session))
            if kept is not idempotency.MISSING:
                uow.replayed = True  # a repeat: nothing runs, nothing is written; its reply says so
                return kept
            ctx = Context(session, caller, uow.emit, uow.request_id, service, uow)
            result = fn(ctx, *args, **kwargs)
            session.flush()
            result = dump_output(contract, result)
            idempotency.keep(session, uow.metadata, owner, call, contract.method, result)
    except ServiceError as exc:
        if exc.code != "conflict":
            raise
        # the key was kept meanwhile by the same request run elsewhere (a redelivery meeting the retry):
        # this run was rolled back; its answer is the one kept
        with uow.transaction() as session:
            kept = idempotency.find(session, uow.metadata, owner, call, contract.method)
        if kept is idempotency.MISSING:
            raise
        uow.replayed = True
        return kept
    for after in ctx._after:
        after()
    return result


def entrypoint(contract: RpcContract, fn: Callable):
    """The service method of `contract`, calling the plain domain function `fn` (see the module doc)."""
    accepted = _keywords(fn, 1 + contract.record + (contract.input is not None))

    def method(self, payload=None, id=None, **options):
        check_permission(contract, self.db.caller)
        unknown = [name for name in options if accepted is not None and name not in accepted]
        if unknown:
            raise ServiceError("validation_failed", f"{contract.method} takes no option {', '.join(sorted(unknown))}",
                               errors={name: ["not an option of this call"] for name in unknown})
        args = [] if not contract.record else [_record_id(id)]
        if contract.input is not None:
            args.append(load_input(contract, payload))
        if getattr(self.db, "idempotent", None) is not None:  # kept with its answer in the same transaction
            return run_once(self, contract, fn, *args, **options)
        return dump_output(contract, run(self, fn, *args, **options))

    method.__name__ = method.__qualname__ = contract.method
    method.__doc__ = contract.description or fn.__doc__
    return rpc(expected_exceptions=ServiceError)(method)


def _keywords(fn: Callable, positional: int) -> frozenset | None:
    """The keyword options a domain function takes (None: any, it has **kwargs): its parameters after the
    `positional` first ones (the context, the record id, the input)."""
    import inspect
    parameters = list(inspect.signature(fn).parameters.values())
    if any(p.kind is p.VAR_KEYWORD for p in parameters):
        return None
    return frozenset(p.name for p in parameters[positional:] if p.kind is not p.VAR_POSITIONAL)


def _record_id(value) -> str:
    if not isinstance(value, str) or not value or len(value) > 64:
        raise ServiceError("not_found", "no such record")
    return value


# -- events ---------------------------------------------------------------------------------------

def reads(*types: str, fields: type[Schema] | None = None):
    """Declare the event types a handler consumes and the fields of their data it reads (a Schema; None:
    the data as it comes). The service's HANDLERS table is built from these (`handler_table`)."""

    def mark(fn):
        fn.crm_reads = (types, fields)
        return fn
    return mark


def handler_table(*handlers: Callable) -> dict:
    """{event type: handler} from handlers marked with `@reads`; the queue binds to exactly these types."""
    table = {}
    for handler in handlers:
        for type_ in handler.crm_reads[0]:
            if type_ in table:
                raise ValueError(f"two handlers for {type_}")
            table[type_] = handler
    return table


@functools.lru_cache(maxsize=None)
def _reader(schema: type[Schema]) -> Schema:
    return schema(unknown=EXCLUDE)


def dispatch(ctx: Context, envelope: dict, table: dict) -> bool:
    """Apply one event with its handler (False: not one this table reads). Data missing a field the handler
    needs raises (the event is retried, then dead-lettered)."""
    handler = table.get(envelope.get("type"))
    if handler is None:
        return False
    schema = handler.crm_reads[1]
    data = envelope.get("data") or {}
    handler(ctx, _reader(schema).load(data) if schema is not None else data, envelope)
    if envelope.get("type") == PRIVACY_REQUESTED and data.get("kind") == "erasure" and ctx.uow is not None:
        idempotency.forget(ctx.session, ctx.uow.metadata, data.get("email"))  # the kernel's copies too
    return True
