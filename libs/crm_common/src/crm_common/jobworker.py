"""Runs one job in a process of its own: `python -m crm_common.jobworker <metadata> <handler> <job id>`.

A service's JobRunner starts it for jobs on PostgreSQL (see jobs.JobRunner). The process has no
eventlet: the handler's work (parsing, validating, formatting a hundred thousand rows) runs on a core
of its own while the service keeps answering, and the handler may use real threads (the lead import
writes one batch while it validates the next). `<metadata>` and `<handler>` are `module:attribute`
references (`crm_sales.models:Base.metadata`, `crm_sales.domain.lead_imports:run`); the database URL comes in the
environment (CRM_JOB_DATABASE_URL), never on the command line where `ps` would show its password.
"""
from __future__ import annotations

import importlib
import logging
import os
import sys

URL_VARIABLE = "CRM_JOB_DATABASE_URL"


def resolve(reference: str):
    """`package.module:attr.attr` -> the object."""
    module_name, _, path = reference.partition(":")
    found = importlib.import_module(module_name)
    for name in filter(None, path.split(".")):
        found = getattr(found, name)
    return found


def reference(obj) -> str:
    """The `module:qualname` of a function that resolve() finds again."""
    return f"{obj.__module__}:{obj.__qualname__}"


def main(argv: list[str]) -> int:
    if len(argv) != 3 or not os.environ.get(URL_VARIABLE):
        print(f"usage: {URL_VARIABLE}=... python -m crm_common.jobworker <metadata> <handler> <job id>",
              file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s job %(name)s: %(message)s")
    from crm_common import jobs
    from crm_common.db import make_engine

    metadata, work, job_id = resolve(argv[0]), resolve(argv[1]), argv[2]
    engine = make_engine(os.environ[URL_VARIABLE], pool_size=2, max_overflow=2)
    try:
        job = jobs.run(engine, metadata, job_id, work)
    finally:
        engine.dispose()
    return 0 if job else 1  # jobs.run never raises: a failed job is recorded as failed


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
