"""What the marketing e2e modules share: the roles, the public (no login) requests of a visitor or a
recipient, the mail caught under the suite's var/mail/, a send's progress, and the marketing database for
setting up what another area makes. Import as `from tests.e2e.marketing_e2e import ...` (pytest runs from the
repository's root, `python -m pytest`)."""
from __future__ import annotations

import email
import time
from pathlib import Path

import requests

from crm_common import mailcatcher
from crm_common.db import make_engine
from crm_common.testing.waiting import eventually

PROBLEM = "application/problem+json"
BROWSER = {"User-Agent": "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"}
ROLES = ("marketer", "analyst", "sales_rep")


def people_of(admin) -> dict:
    """A new user of each role that marketing's permissions tell apart."""
    return {role: admin.as_new_user([role]) for role in ROLES}


def marketing_engine(suite):
    """The running suite's marketing database (the caller disposes of it)."""
    env = suite.suite.env
    return make_engine(env.get("MARKETING_DATABASE_URL") or f"sqlite:///{Path(env['CRM_VAR_DIR']) / 'marketing.db'}")


def created(response) -> dict:
    assert response.status_code == 201, response.text
    return response.json()


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith(PROBLEM)
    return response.json()


def public(suite, method: str, path: str, **kwargs) -> requests.Response:
    """A request with no login, from a browser unless `headers` say otherwise; redirects not followed."""
    headers = {**BROWSER, **kwargs.pop("headers", {})}
    return requests.request(method, suite.base_url + path, headers=headers, allow_redirects=False, timeout=30,
                            **kwargs)


def mail_dir(suite) -> Path:
    return Path(suite.suite.env["CRM_MAIL_DIR"])


def caught_for(suite, addresses) -> dict:
    """{address: [its messages]} of the mail caught so far for these addresses."""
    wanted, found = set(addresses), {}
    for message in mailcatcher.caught(mail_dir(suite)):
        if message["To"] in wanted:
            found.setdefault(message["To"], []).append(message)
    return found


def mail_to(suite, to: str) -> email.message.Message:
    """The first message caught for `to`, waiting for it to arrive."""
    return eventually(lambda: (caught_for(suite, [to]).get(to) or [None])[0],
                      until=lambda found: found is not None, timeout=20)


def wait_done(client, campaign_id: str, job_id: str, timeout: float = 60) -> dict:
    """The send job once it is done, failed or cancelled (or as it stands at the timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        response = client.get(f"/api/v1/campaigns/{campaign_id}/sends/{job_id}")
        assert response.status_code == 200, response.text
        job = response.json()
        if job["status"] in ("done", "failed", "cancelled") or time.monotonic() > deadline:
            return job
        time.sleep(0.3)
