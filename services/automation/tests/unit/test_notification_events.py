"""Notifications other services' events ask for (issue 16, item 4): a user @mentioned in a comment, a webhook the
integration service switched off. Applied as the stream applies them (crm_common.entrypoint.dispatch)."""
from __future__ import annotations

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from crm_common.context import SYSTEM, Actor, Context
from crm_common.entrypoint import dispatch
from crm_automation import handlers
from crm_automation.domain import notifications
from crm_automation.models import Notification


def apply(store, env) -> bool:
    return store.tx(lambda ctx: dispatch(ctx, env, handlers.HANDLERS))


def notes(store):
    return store.tx(lambda ctx: sorted((n.user_id, n.kind, n.title, n.body, n.resource, n.record_id)
                                       for n in ctx.session.scalars(select(Notification))))


def test_a_mentioned_user_is_told_in_their_inbox_and_not_for_mentioning_themselves(store, envelope):
    mention = {"comment_id": "c-1", "resource": "opportunity", "record_id": "opp-1", "mentioned_user_id": "rep-2",
               "author_id": "rep-1"}
    assert apply(store, envelope("sales.comment_mentioned.v1", mention, "comment", "create"))
    apply(store, envelope("sales.comment_mentioned.v1", {**mention, "mentioned_user_id": "rep-1"}, "comment", "create"))
    assert notes(store) == [("rep-2", "mention", "You were mentioned in a comment on the opportunity", None,
                             "opportunity", "opp-1")]
    inbox = store.as_user("rep-2")(notifications.page, {"sort": "-created_at", "limit": 10})
    assert inbox["unread_count"] == 1 and inbox["items"][0].kind == "mention"


def test_a_disabled_webhook_tells_its_owner_or_else_the_administrators(store, envelope):
    store.tx(notifications.apply_user, {"id": "admin-1", "email": "a@example.com", "roles": ["admin"]})
    store.tx(notifications.apply_user, {"id": "rep-1", "email": "r@example.com", "roles": ["sales_rep"]})
    disabled = {"id": "wh-1", "owner_id": "rep-1", "reason": "the receiver answered 410 Gone",
                "url_host": "hooks.example.com"}
    assert apply(store, envelope("integration.webhook_disabled.v1", disabled, "webhook", "update",
                                 producer="integration"))
    apply(store, envelope("integration.webhook_disabled.v1", {**disabled, "id": "wh-2", "owner_id": None},
                          "webhook", "update", producer="integration"))
    assert notes(store) == [
        ("admin-1", "webhook_disabled", "A webhook to hooks.example.com was disabled", "the receiver answered 410 Gone",
         "webhook", "wh-2"),
        ("rep-1", "webhook_disabled", "A webhook to hooks.example.com was disabled", "the receiver answered 410 Gone",
         "webhook", "wh-1")]
    # an email goes out too (the kind is emailed unless the user turned it off)
    mail = store.tx(notifications.due_mail)
    assert sorted(m["to"] for m in mail) == ["a@example.com", "r@example.com"]


def _pending(store, count: int, users: int = 5) -> None:
    for u in range(users):
        store.tx(notifications.apply_user, {"id": f"user-{u}", "email": f"user{u}@example.com", "roles": ["sales_rep"]})
    for i in range(count):
        store.tx(notifications.notify, [f"user-{i % users}"], "assignment", f"Lead {i} is yours")


def _statuses(store) -> dict:
    rows = store.tx(lambda ctx: list(ctx.session.scalars(select(Notification.email_status))))
    return {status: rows.count(status) for status in set(rows)}


def test_a_backlog_larger_than_a_batch_is_mailed_in_one_tick_and_a_server_putting_mail_off_stops_it(store):
    """The mail timer's round (`mail_due`): 250 pending emails go out in one tick, in batches of 100, each batch
    marked as it went; when the SMTP server puts a message off, the round stops there (it stays pending for the
    next tick) instead of asking a server that is down again and again."""
    _pending(store, 250)
    batches: list[int] = []

    def deliver(messages):
        batches.append(len(messages))
        return [(m["ids"], "sent") for m in messages]

    assert notifications.mail_due(store.tx, deliver) == 250
    assert batches == [100, 100, 50]
    assert _statuses(store) == {"sent": 250}

    _pending(store, 150)
    batches.clear()

    def put_off_one(messages):
        batches.append(len(messages))
        return [(m["ids"], "pending" if i == 0 else "sent") for i, m in enumerate(messages)]

    assert notifications.mail_due(store.tx, put_off_one) == 99
    assert batches == [100]  # the round stopped at the message put off
    assert _statuses(store) == {"sent": 349, "pending": 51}


def test_a_tick_mails_at_most_its_number_of_batches(store, monkeypatch):
    monkeypatch.setattr(notifications, "MAIL_BATCHES", 2)
    _pending(store, 250)
    assert notifications.mail_due(store.tx, lambda messages: [(m["ids"], "sent") for m in messages]) == 200
    assert _statuses(store) == {"sent": 200, "pending": 50}


def test_a_tick_drops_every_pending_notification_of_users_without_an_address_at_once(store):
    """Pending notifications of users with no active address are dropped from mail (`none`) in the tick's first
    batch, however many there are, without taking a batch of their own: here 250 of them beside 30 to mail go in
    one round (before: 100 of them a batch, three batches before the 30 went out)."""
    _pending(store, 30, users=3)
    for i in range(250):
        store.tx(notifications.notify, [f"nobody-{i % 7}"], "assignment", f"Lead {i} is yours")
    store.tx(notifications.apply_user, {"id": "user-2", "email": "user2@example.com"}, True)  # deactivated
    rounds: list[int] = []

    def transact(fn, *args):
        rounds.append(fn.__name__)
        return store.tx(fn, *args)
    assert notifications.mail_due(transact, lambda messages: [(m["ids"], "sent") for m in messages]) == 20
    assert rounds.count("_due") == 1 and rounds.count("mark_mailed") == 20  # one per message sent
    assert _statuses(store) == {"sent": 20, "none": 260}


def test_mail_goes_to_users_with_an_address_one_each_or_a_digest_and_is_dropped_for_the_others(store, monkeypatch):
    """The mail timer's messages (`due_mail`): a pending notification of an active user with an address is one
    message, a digest user's due notifications one digest; those of a user without an address, or deactivated, are
    dropped from mail (`none`) and stay in the inbox."""
    monkeypatch.setenv("CRM_AUTOMATION_DIGEST_SECONDS", "0")
    for user, email in (("rep-1", "r1@example.com"), ("gone-1", "g1@example.com"), ("dig-1", "d1@example.com")):
        store.tx(notifications.apply_user, {"id": user, "email": email, "roles": ["sales_rep"]})
    store.tx(notifications.apply_user, {"id": "gone-1", "email": "g1@example.com"}, True)
    for user in ("dig-1", "dig-2"):  # dig-2: a digest user with no address
        store.as_user(user)(notifications.update_preferences, {"items": [
            {"kind": "assignment", "channel": "email", "enabled": True, "digest": True}]})
    for user in ("rep-1", "gone-1", "nobody-1", "dig-1", "dig-1", "dig-2"):
        store.tx(notifications.notify, [user], "assignment", f"For {user}", "a body")
    mail = store.tx(notifications.due_mail)
    assert sorted((m["to"], m["subject"], m["body"], len(m["ids"])) for m in mail) == [
        ("d1@example.com", "Your CRM digest: 2 notifications", "- For dig-1: a body\n- For dig-1: a body", 2),
        ("r1@example.com", "For rep-1", "For rep-1\n\na body", 1)]
    kept = store.tx(lambda ctx: sorted((n.user_id, n.email_status, n.in_app)
                                       for n in ctx.session.scalars(select(Notification))))
    assert kept == [("dig-1", "digest", True), ("dig-1", "digest", True), ("dig-2", "none", True),
                    ("gone-1", "none", True), ("nobody-1", "none", True), ("rep-1", "pending", True)]
    assert store.tx(notifications.due_mail) == [m for m in mail if m["to"] == "r1@example.com"] + [
        m for m in mail if m["to"] == "d1@example.com"]


def test_an_inbox_page_lists_every_unread_notification_it_counts_when_one_arrives_while_it_is_read(backend_engine,
                                                                                                   events):
    """A notification committed while the inbox is read (after the page's first statement, as the stream's commit
    can land on PostgreSQL, where each statement reads the latest commit) is never counted unread without being
    listed: the answer that said "1 unread" over an empty list is the one a rep saw."""
    if backend_engine.dialect.name != "postgresql":
        pytest.skip("a SQLite transaction holds the database: no commit lands between its statements")
    arrived = []

    def arrive(conn, cursor, statement, parameters, context, executemany):
        if arrived or not statement.lstrip().upper().startswith("SELECT"):
            return
        arrived.append(True)
        with Session(backend_engine) as other, other.begin():
            notifications.notify(Context(other, SYSTEM, events, "req-2"), ["rep-2"], "mention", "Mentioned")

    def inbox():
        with Session(backend_engine, expire_on_commit=False) as session, session.begin():
            rep = Context(session, Actor(user_id="rep-2", roles=("sales_rep",)), events, "req-1")
            return notifications.page(rep, {"sort": "-created_at", "limit": 10})

    event.listen(backend_engine, "after_cursor_execute", arrive)
    try:
        read_while_it_arrived = inbox()
    finally:
        event.remove(backend_engine, "after_cursor_execute", arrive)
    assert arrived
    assert len([n for n in read_while_it_arrived["items"] if n.read_at is None]) >= read_while_it_arrived["unread_count"]
    assert inbox()["unread_count"] == 1 and len(inbox()["items"]) == 1
