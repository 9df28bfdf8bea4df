"""The marketing service's metadata: every table of the service is on `Base`."""
from __future__ import annotations

from sqlalchemy import text

from crm_common import jobs
from crm_common.db import make_base

Base = make_base("marketing")
jobs.install(Base.metadata)  # crm_jobs: campaign sends and other long work, with visible progress

LIVE = text("deleted_at IS NULL")  # the condition of partial indexes over records that are not soft-deleted
