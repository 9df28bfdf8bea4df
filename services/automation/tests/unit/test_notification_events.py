"""Notifications other services' events ask for (issue 16, item 4): a user @mentioned in a comment, a webhook the
integration service switched off. Applied as the stream applies them (crm_common.entrypoint.dispatch)."""
from __future__ import annotations

from sqlalchemy import select

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
