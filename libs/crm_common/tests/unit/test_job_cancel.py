"""Cancelling a job: a queued one never runs, a running one stops at its next progress report keeping what it
committed, a finished one stays finished; the status says `cancelled`."""
from sqlalchemy import Column, Integer, MetaData, Table, insert, select
from sqlalchemy.orm import Session

from crm_common import jobs
from crm_common.db import make_engine


def setup(tmp_path):
    metadata = MetaData()
    jobs.install(metadata)
    items = Table("items", metadata, Column("n", Integer, primary_key=True))
    engine = make_engine(f"sqlite:///{tmp_path}/jobs.db")
    metadata.create_all(engine)
    return engine, metadata, items


def created(engine, metadata, total=10):
    with Session(engine) as session, session.begin():
        return jobs.create(session, metadata, "count", total=total)


def test_a_running_job_stops_at_its_next_report_and_keeps_what_it_committed(tmp_path):
    engine, metadata, items = setup(tmp_path)
    job = created(engine, metadata)

    def work(ctx):
        for n in range(10):
            with engine.begin() as conn:
                conn.execute(insert(items).values(n=n))
                ctx.progress(processed=n + 1, succeeded=n + 1, conn=conn)
            if n == 3:  # someone cancels meanwhile
                with Session(engine) as session, session.begin():
                    jobs.cancel(session, metadata, job["id"])
        return {"counted": 10}

    final = jobs.run(engine, metadata, job["id"], work)
    with engine.connect() as conn:
        kept = conn.execute(select(items.c.n)).scalars().all()
    assert final["status"] == "cancelled" and final["finished_at"] is not None and final["result"] is None
    assert kept == [0, 1, 2, 3] and final["processed"] == 4  # the batch after the cancel rolled back


def test_a_report_without_a_transaction_stops_a_cancelled_job_too(tmp_path):
    engine, metadata, _ = setup(tmp_path)
    job = created(engine, metadata)
    reports = []

    def work(ctx):
        for n in range(10):
            ctx.progress(processed=n + 1)
            reports.append(n)
            with Session(engine) as session, session.begin():
                jobs.cancel(session, metadata, job["id"])

    assert jobs.run(engine, metadata, job["id"], work)["status"] == "cancelled"
    assert reports == [0]


def test_a_queued_job_cancelled_never_runs_and_a_finished_one_stays_finished(tmp_path):
    engine, metadata, _ = setup(tmp_path)
    queued, finished = created(engine, metadata), created(engine, metadata)
    jobs.run(engine, metadata, finished["id"], lambda ctx: {"ok": True})
    with Session(engine) as session, session.begin():
        assert jobs.cancel(session, metadata, queued["id"])["status"] == "cancelled"
        assert jobs.cancel(session, metadata, finished["id"])["status"] == "done"
        assert jobs.cancel(session, metadata, "no-such-job") is None
    ran = []
    assert jobs.run(engine, metadata, queued["id"], lambda ctx: ran.append(1))["status"] == "cancelled"
    assert ran == [] and jobs.unfinished(engine, metadata) == []
