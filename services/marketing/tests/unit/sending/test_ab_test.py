"""A/B: the test group split by shares, the winner picked on people's opens after the wait, the rest get it."""
from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from crm_common.db import utcnow
from crm_common import mailcatcher
from crm_marketing.domain import ab_variants
from crm_marketing.models import Campaign, CampaignVariant, EmailTemplate, Message, TrackingHit


def variants(engine, cid):
    with Session(engine) as session, session.begin():
        made = []
        for label in ("A", "B"):
            template = EmailTemplate(name=label, subject=f"Subject {label} for {{{{ contact.first_name }}}}", html="<p>x</p>")
            session.add(template)
            session.flush()
            variant = CampaignVariant(campaign_id=cid, label=label, template_id=template.id, share=50)
            session.add(variant)
            session.flush()
            made.append(variant.id)
        return made


def test_the_winner_on_peoples_opens_goes_to_the_rest(h, engine, catcher, monkeypatch):
    h.audience(engine, 20)
    cid = h.campaign(engine, ab_test_share=40, ab_wait_minutes=60, ab_metric="opens")
    a, b = variants(engine, cid)
    real_wait_until = ab_variants.wait_until

    def opened_meanwhile(campaign, finished_at):
        assert real_wait_until(campaign, finished_at) == finished_at + timedelta(minutes=60)
        with Session(engine) as session, session.begin():
            test = session.execute(select(Message).where(Message.campaign_id == cid)).scalars().all()
            assert len(test) == 8 and Counter(m.variant_id for m in test) == {a: 4, b: 4}
            for m in test:  # every B message opened by a person; A: by an image proxy (machine), one by a person
                if m.variant_id == b:
                    session.add(TrackingHit(message_id=m.id, campaign_id=cid, variant_id=b, kind="open", machine=False))
                else:
                    session.add(TrackingHit(message_id=m.id, campaign_id=cid, variant_id=a, kind="open", machine=True))
            session.add(TrackingHit(message_id=test[0].id, campaign_id=cid, variant_id=test[0].variant_id, kind="open",
                                    machine=False))
        return utcnow() + timedelta(seconds=1)  # the wait, shortened

    monkeypatch.setattr(ab_variants, "wait_until", opened_meanwhile)
    began = time.monotonic()
    job = h.run(engine, h.start(engine, cid))
    assert time.monotonic() - began >= 1  # the rest waited for the test
    assert job["status"] == "done" and job["result"]["winner_variant_id"] == b
    with Session(engine) as session:
        assert session.get(Campaign, cid).winner_variant_id == b
        assert {v.label: v.is_winner for v in session.execute(select(CampaignVariant)).scalars()} == {"A": False, "B": True}
        sent = Counter(m.variant_id for m in session.execute(select(Message).where(Message.campaign_id == cid)).scalars())
    assert sent == {a: 4, b: 16}
    subjects = Counter(m["Subject"].split()[1] for m in mailcatcher.caught(catcher))
    assert subjects == {"A": 4, "B": 16}


def test_split_follows_the_shares_at_every_prefix():
    class V:
        def __init__(self, id, label, share):
            self.id, self.label, self.share = id, label, share
    split = ab_variants.Split([V("a", "A", 70), V("b", "B", 30)], {})
    picks = [split.next().id for _ in range(10)]
    assert Counter(picks) == {"a": 7, "b": 3}
    resumed = ab_variants.Split([V("a", "A", 70), V("b", "B", 30)], {"a": 7, "b": 3})
    assert Counter(resumed.next().id for _ in range(10)) == {"a": 7, "b": 3}
