"""Projections: how each event type changes the read models. Plain functions `fn(store, envelope, data)` on the
read models of one generation held as a unit of work (projections/store.py), so the live stream and a
rebuild's replay run the same code, a batch of events at a time. An event type no projection reads is only
kept in the log (domain/log.py)."""
from __future__ import annotations

from crm_analytics.projections import custom_fields, marketing, sales, service, subscriptions
from crm_analytics.projections.store import Detached, Store
from crm_analytics.projections.store_writes import Conflict

PROJECTORS: dict = {**sales.PROJECTORS, **service.PROJECTORS, **marketing.PROJECTORS, **subscriptions.PROJECTORS,
                    **custom_fields.PROJECTORS}

# the model whose row an event's data.id names, by the type's prefix (what a batch reads up front)
MODEL_OF = {"sales.lead": "leads", "sales.opportunity": "opportunities", "sales.account": "accounts",
            "sales.order": "orders", "sales.contract": "contracts", "sales.activity": "activities",
            "service_desk.ticket": "tickets", "service_desk.sla": "tickets", "service_desk.survey": "surveys",
            "service_desk.complaint": "complaints", "marketing.campaign": "campaigns",
            "sales.subscription": "subscriptions", "sales.target": "targets"}
# the events that make the record their data.id names (as a rule absent before them)
CREATES = frozenset(("sales.lead_created.v1", "sales.opportunity_created.v1", "sales.account_created.v1",
                     "sales.activity_logged.v1", "sales.order_placed.v1", "sales.subscription_created.v1",
                     "service_desk.ticket_opened.v1", "service_desk.survey_answered.v1",
                     "service_desk.complaint_opened.v1", "marketing.campaign_created.v1"))
# the models a field of the data refers to
REFERS = {"account_id": "accounts", "ticket_id": "tickets", "opportunity_id": "opportunities"}
_REFERS_KEYS = frozenset(REFERS)


def project_many(conn, t, envelopes: list, guarded: bool = False, memo: dict | None = None) -> int:
    """Apply logged events, in order, to generation `t`: their rows read up front, changed in memory, written
    back in bulk. The number of events a projection read. An error leaves nothing written (the caller's
    transaction rolls back). `guarded`: the caller writes the batch in a savepoint of its own (the log's, on
    PostgreSQL: domain/log.py); a record a creation event names found there already raises `Conflict` for it
    to roll back and project again with `assume=False`, instead of a savepoint of the store's. `memo`: the COPY
    text of the values the caller's own COPY of the batch formatted (bulk.prepare), for the store's."""
    todo = _todo(envelopes)
    if not todo:
        return 0
    if guarded:
        _project(Store(conn, t, guarded=True, memo=memo), todo, assume=True)
        return len(todo)
    try:
        _project(Store(conn, t), todo, assume=True)
    except Conflict:  # a record a creation event names is there already (rare): again, reading every row
        _project(Store(conn, t), todo, assume=False)
    return len(todo)


def project_beside(session, t, envelopes: list, send, memo: dict | None = None) -> int:
    """`project_many(guarded=True)` with the caller's COPY in its middle (PostgreSQL: the log's, `send` as
    `crm_common.bulk.prepare` made it): the rows the batch needs are read first, then the COPY is sent, and while the
    server takes its rows the projections run and their writes are formatted, on no connection (the client's work
    and the server's overlap); then the writes are sent, in the same transaction. A row not read up front (rare)
    needs the connection: the batch is then projected again once the COPY has ended. Errors as `project_many`'s;
    the COPY's own (an event logged before) first."""
    todo = _todo(envelopes)
    if not todo:
        send(session)
        return 0
    store = Store(session, t, guarded=True, memo=memo)
    _read_up_front(store, todo, store.dialect.name == "postgresql")
    writes: list = []

    def meanwhile() -> None:
        with store.detached():
            _apply(store, todo)
            writes.extend(store.writes())

    try:
        send(session, meanwhile)
    except Detached:  # nothing written but the COPY: the projections again, reading as they go
        _project(Store(session, t, guarded=True, memo=memo), todo, assume=True)
        return len(todo)
    for write in writes:
        write()
    return len(todo)


def project_reading(conn, t, envelopes: list) -> int:
    """`project_many` reading every row the events name (none taken as absent): after a `Conflict`."""
    todo = _todo(envelopes)
    if todo:
        _project(Store(conn, t), todo, assume=False)
    return len(todo)


def _todo(envelopes: list) -> list:
    """(projection, envelope, data) of each event a projection reads, in order."""
    get = PROJECTORS.get
    return [(fn, e, e.get("data") or {}) for e in envelopes if (fn := get(e.get("type"))) is not None]


def _project(store: Store, todo: list, assume: bool) -> None:
    _read_up_front(store, todo, assume and store.dialect.name == "postgresql")
    _apply(store, todo)
    store.flush()


def _apply(store: Store, todo: list) -> None:
    """Each event's projection, in order, on the store's rows in memory."""
    for fn, envelope, data in todo:
        fn(store, envelope, data)


def project(conn, t, envelope: dict) -> bool:
    """Apply one logged event to generation `t`; False when no projection reads its type."""
    return project_many(conn, t, [envelope]) == 1


RECORDS = {**sales.DELETABLE, "custom_field": "custom_fields"}  # a record_changed event's model, by its entity
_KINDS: dict = {}  # event type -> (the model data.id names, a creation, an opportunity's, a record_changed)


def _kind(type_: str) -> tuple:
    producer, _, rest = type_.partition(".")
    model = MODEL_OF.get(f"{producer}.{rest.split('_', 1)[0]}")
    changed = model is None and type_.endswith(".record_changed.v1")
    kind = _KINDS[type_] = (model, type_ in CREATES, type_.startswith("sales.opportunity_"), changed)
    return kind


def _read_up_front(store: Store, todo: list, assume: bool) -> None:
    """Read the rows the batch's events name, one query per model; with `assume`, the records of its creation
    events (CREATES) are taken as absent without a read (`Store.assume_absent`)."""
    ids: dict[str, set] = {}
    made: dict[str, set] = {}
    opportunities = set()
    for _, envelope, data in todo:
        if not isinstance(data, dict):
            continue
        type_, id_ = envelope["type"], data.get("id")
        model, creates, opportunity, changed = _KINDS.get(type_) or _kind(type_)
        if id_:
            if changed:
                model = RECORDS.get(data.get("entity"))
            if model:
                into = made if assume and creates else ids
                found = into.get(model)
                if found is None:
                    found = into[model] = set()
                found.add(id_ if id_.__class__ is str else str(id_))
            if opportunity:
                opportunities.add(str(id_))
        if not _REFERS_KEYS.isdisjoint(data):
            for field, referred in REFERS.items():
                if data.get(field):
                    ids.setdefault(referred, set()).add(str(data[field]))
        if type_ == "sales.leads_imported.v1":
            for lead in data.get("leads") or []:
                if isinstance(lead, dict) and lead.get("id"):
                    ids.setdefault("leads", set()).add(str(lead["id"]))
    for model, wanted in ids.items():  # a record the batch creates is not read, though others name it too
        store.load(model, wanted - made.get(model, set()))
    for model, wanted in made.items():
        store.assume_absent(model, wanted)
    if opportunities:
        store.load_history(opportunities)
        store.load_by("leads", "opportunity_id", opportunities)
