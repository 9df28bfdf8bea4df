"""Subscriptions to content (newsletters, product updates, events, webinars): which contact wants what.
Announced as sales.content_subscription_changed.v1, which marketing's consent and segments read.

A contact who unsubscribes with the link of a marketing mail (marketing.unsubscribed.v1, handlers.on_unsubscribed)
leaves here too (`left_by_mail`): the topic named, or every topic when they left all marketing mail (every
content subscription is marketing mail). The person is the address: the contact's and the other live contacts
of the same email address, as marketing ends the address's subscriptions."""
from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import and_, or_, select

import crm_sales_contracts as c
from crm_common import scope
from crm_common.errors import validation
from crm_sales.domain import records
from crm_sales.models import Contact, ContentSubscription, Product

if TYPE_CHECKING:
    from crm_common.entrypoint import Context

page = records.lister("subscription", ContentSubscription, c.ContentSubscriptionFilters.SORTABLE)


def _announce(ctx: Context, entry: ContentSubscription, contact: Contact) -> None:
    ctx.emit(c.CONTENT_SUBSCRIPTION_CHANGED, {"id": entry.id, "contact_id": entry.contact_id, "email": contact.email,
                                              "topic": entry.topic, "product_id": entry.product_id,
                                              "subscribed": entry.subscribed})


def subscribe(ctx: Context, data: dict) -> ContentSubscription:
    """The contact subscribes to the topic (the same record again when it had left it)."""
    session = ctx.session
    contact = session.get(Contact, data["contact_id"])
    if contact is None or contact.deleted_at is not None or not scope.allows(ctx.caller, "contact", "read", contact):
        raise validation({"contact_id": ["no such contact"]})
    product_id = data.get("product_id")
    if product_id and session.get(Product, product_id) is None:
        raise validation({"product_id": ["no such product"]})
    key = f"{data['topic']}:{product_id}" if product_id else data["topic"]
    entry = session.execute(select(ContentSubscription).where(ContentSubscription.contact_id == contact.id,
                                                              ContentSubscription.topic_key == key)).scalar()
    if entry is not None and entry.subscribed:
        return entry
    if entry is None:
        entry = ContentSubscription(contact_id=contact.id, account_id=contact.account_id, topic=data["topic"],
                                    product_id=product_id, topic_key=key, owner_id=contact.owner_id,
                                    team_id=contact.team_id, territory_id=contact.territory_id)
        session.add(entry)
    entry.subscribed = True
    session.flush()
    _announce(ctx, entry, contact)
    return entry


def unsubscribe(ctx: Context, record_id: str) -> ContentSubscription:
    entry = records.load(ctx, "subscription", ContentSubscription, record_id, "update", "content subscription")
    if entry.subscribed:
        entry.subscribed = False
        ctx.session.flush()
        _announce(ctx, entry, ctx.session.get(Contact, entry.contact_id))
    return entry


def left_by_mail(ctx: Context, contact_id: str, topic: str | None) -> list[ContentSubscription]:
    """The contact (and the contacts of the same address) unsubscribed from `topic` with a marketing mail's link
    (None: from all marketing mail, so from every topic): those subscriptions end, each announced; the ones
    already ended are left as they are (a second delivery changes nothing). Returns the ones ended now."""
    session = ctx.session
    contact = session.get(Contact, contact_id)
    if contact is None:
        return []
    person = select(Contact.id).where(or_(Contact.id == contact.id, and_(
        Contact.email == contact.email, Contact.email.is_not(None), Contact.deleted_at.is_(None))))
    query = select(ContentSubscription).where(ContentSubscription.subscribed.is_(True),
                                              ContentSubscription.contact_id.in_(person))
    if topic is not None:
        query = query.where(ContentSubscription.topic == topic)
    ended = list(session.execute(query.order_by(ContentSubscription.created_at)).scalars())
    for entry in ended:
        entry.subscribed = False
    session.flush()
    for entry in ended:
        _announce(ctx, entry, session.get(Contact, entry.contact_id))
    return ended
