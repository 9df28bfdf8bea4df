"""The generic job mechanics (crm_common.jobs) the lead import is built on."""
from __future__ import annotations

from sqlalchemy.orm import Session

from crm_common import jobs
from crm_sales.models import Base


def _job(engine, payload):
    with Session(engine) as session, session.begin():
        return jobs.create(session, Base.metadata, "test", payload=payload, total=len(payload))


def test_progress_is_visible_while_running_and_result_kept(engine):
    job = _job(engine, [1, 2, 3])
    seen = []

    def work(ctx):
        for n, item in enumerate(ctx.payload, start=1):
            if item == 2:
                ctx.error(item=item, reason="even")
            ctx.progress(processed=n, succeeded=n - ctx.failed)
            with Session(engine) as session:
                seen.append(jobs.get(session, Base.metadata, job["id"])["processed"])
        return {"sum": sum(ctx.payload)}

    done = jobs.run(engine, Base.metadata, job["id"], work)
    assert seen == [1, 2, 3]
    assert (done["status"], done["succeeded"], done["failed"], done["result"]) == ("done", 2, 1, {"sum": 6})
    assert done["errors"] == [{"item": 2, "reason": "even"}] and done["finished_at"] >= done["started_at"]
    assert jobs.run(engine, Base.metadata, job["id"], lambda ctx: 1 / 0)["status"] == "done"  # never re-run


def test_a_handler_that_raises_fails_the_job_with_the_reason(engine):
    job = _job(engine, [1])
    done = jobs.run(engine, Base.metadata, job["id"], lambda ctx: 1 / 0)
    assert done["status"] == "failed" and "ZeroDivisionError" in done["errors"][-1]["error"]
    assert jobs.unfinished(engine, Base.metadata) == []
