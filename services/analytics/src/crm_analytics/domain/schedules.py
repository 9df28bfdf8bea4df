"""Scheduled reports: each due report runs in its author's scope (as saved with it) and is mailed as a CSV
attachment to its recipients; then its next run is set a cadence later. A timer of the service calls run_due."""
from __future__ import annotations

import logging
from email.message import EmailMessage

from sqlalchemy import select

from crm_common import config, exports
from crm_common.context import Actor, Context

from crm_analytics.domain.reports import _schedule, columns_of, rows
from crm_analytics.models import Report

log = logging.getLogger(__name__)
PAGE = 5000
MAX_ROWS = 200_000  # a mailed report stops here and says so (the download has no limit)


def message(session, report: Report, sender: str) -> EmailMessage:
    ctx = Context(session, Actor.from_dict(report.author), None, "schedule")
    columns = [(col["name"], col["type"]) for col in columns_of(session, report)]
    pages, offset = [], 0
    while offset < MAX_ROWS:
        found, _ = rows(ctx, report, offset, PAGE)
        pages.append(found)
        offset += len(found)
        if len(found) < PAGE:
            break
    cut = offset >= MAX_ROWS
    body = "".join(exports.csv_chunks(columns, pages))
    msg = EmailMessage()
    msg["Subject"] = f"Report: {report.name}"
    msg["From"] = sender
    msg.set_content(f"{report.name}: {offset} rows attached as CSV."
                    + (f" Only the first {MAX_ROWS} rows: download the rest from the report." if cut else ""))
    name = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in report.name)[:60] or "report"
    msg.add_attachment(body.encode(), maintype="text", subtype="csv", filename=f"{name}.csv")
    return msg


def run_due(session, now, send) -> int:
    """Mail every report due at `now` with `send(message, recipient)`; returns how many were sent."""
    sender = config.env("CRM_ANALYTICS_MAIL_FROM", "reports@crm.invalid")
    due = session.execute(select(Report).where(Report.next_run_at.is_not(None), Report.next_run_at <= now)
                          .order_by(Report.next_run_at).limit(50)).scalars().all()
    for report in due:
        if report.author and report.schedule:
            msg = message(session, report, sender)
            for recipient in report.schedule["recipients"]:
                send(msg, sender, recipient)
        _schedule(report, after=now)
    return len(due)
