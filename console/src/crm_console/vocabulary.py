"""Words the API sends as codes (statuses, sources, stages, sort keys): their labels, marked for the catalogues.

Templates show a code with `code|label` (translated at render time); listing the labels here lets
`pybabel extract` find them.
"""
from __future__ import annotations

from flask_babel import gettext


def N_(text: str) -> str:  # noqa: N802 - gettext's marker name
    return text


LABELS = {
    # lead statuses and sources
    "new": N_("New"), "contacted": N_("Contacted"), "qualified": N_("Qualified"),
    "unqualified": N_("Unqualified"), "converted": N_("Converted"),
    "api": N_("API"), "web_form": N_("Web form"), "import": N_("Import"), "referral": N_("Referral"),
    "event": N_("Event"), "cold_call": N_("Cold call"), "partner": N_("Partner"), "other": N_("Other"),
    # opportunity stages
    "prospecting": N_("Prospecting"), "qualification": N_("Qualification"), "proposal": N_("Proposal"),
    "negotiation": N_("Negotiation"), "closed_won": N_("Closed won"), "closed_lost": N_("Closed lost"),
    # ticket statuses and priorities
    "open": N_("Open"), "pending": N_("Pending"), "on_hold": N_("On hold"), "solved": N_("Solved"),
    "closed": N_("Closed"), "reopened": N_("Reopened"), "low": N_("Low"), "normal": N_("Normal"),
    "high": N_("High"), "urgent": N_("Urgent"),
    # sort keys of the lead list
    "-created_at": N_("Newest first"), "created_at": N_("Oldest first"), "last_name": N_("Last name A-Z"),
    "-last_name": N_("Last name Z-A"), "company": N_("Company A-Z"), "-company": N_("Company Z-A"),
    "-score": N_("Highest score"), "score": N_("Lowest score"), "status": N_("Status"),
    # sort keys of the account and contact lists
    "name": N_("Name A-Z"), "-total_value": N_("Highest value"),
    # sort keys of the opportunity and ticket lists
    "expected_close_date": N_("Closing soonest"), "-amount": N_("Largest amount"), "number": N_("Number"),
    # account lifecycle stages
    "prospect": N_("Prospect"), "first_purchase": N_("First purchase"), "repeat": N_("Repeat customer"),
    "loyal": N_("Loyal"), "churned": N_("Churned"),
    # timeline entries and the parts of a timeline
    "deal": N_("Opportunity"), "ticket": N_("Service request"), "call": N_("Call"), "meeting": N_("Meeting"),
    "task": N_("Task"), "note": N_("Note"), "comment": N_("Comment"), "deals": N_("Opportunities"),
    "tickets": N_("Service requests"), "activities": N_("Activities"), "comments": N_("Comments"),
    # activity statuses and call outcomes
    "done": N_("Done"), "cancelled": N_("Cancelled"), "connected": N_("Connected"), "no_answer": N_("No answer"),
    "voicemail": N_("Voicemail"), "busy": N_("Busy"), "wrong_number": N_("Wrong number"),
    "callback_requested": N_("Callback requested"), "not_interested": N_("Not interested"),
    "interested": N_("Interested"),
    # quote, order and contract statuses
    "draft": N_("Draft"), "sent": N_("Sent"), "accepted": N_("Accepted"), "rejected": N_("Rejected"),
    "placed": N_("Placed"), "confirmed": N_("Confirmed"), "shipped": N_("Shipped"), "delivered": N_("Delivered"),
    "signed": N_("Signed"), "active": N_("Active"), "expired": N_("Expired"), "terminated": N_("Terminated"),
    # campaign types and statuses, and the figures of a campaign
    "email": N_("Email"), "webinar": N_("Webinar"), "social": N_("Social"), "print": N_("Print"),
    "scheduled": N_("Scheduled"), "sending": N_("Sending"), "recipients": N_("Recipients"),
    "unique_opens": N_("Unique opens"), "unique_clicks": N_("Unique clicks"), "leads": N_("Leads"),
    "opportunities": N_("Opportunities"), "bounced": N_("Bounced"), "unsubscribed": N_("Unsubscribed"),
    "complaints": N_("Complaints"),
    # report sources
    "orders": N_("Orders"), "accounts": N_("Accounts"),
    # audience members
    "lead": N_("Lead"), "contact": N_("Contact"),
    # job statuses
    "queued": N_("Queued"), "running": N_("Running"), "failed": N_("Failed"),
    # workflow runs and their steps (webhook deliveries: pending, delivered, failed, above)
    "waiting": N_("Waiting"), "succeeded": N_("Succeeded"), "stopped": N_("Stopped"), "skipped": N_("Skipped"),
    "retrying": N_("Retrying"),
}


def label(code) -> str:
    if code is None:
        return ""
    text = LABELS.get(str(code))
    return gettext(text) if text else str(code)
