"""Optimistic concurrency: records carry a `version`; a stale If-Match is a 412 and changes nothing."""
from __future__ import annotations

from sqlalchemy import Integer
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from crm_common.errors import ServiceError


class VersionMixin:
    """Adds `version`, bumped by SQLAlchemy on every UPDATE (and checked: a concurrent write fails)."""

    version: Mapped[int] = mapped_column(Integer, nullable=False)

    @declared_attr.directive
    def __mapper_args__(cls):
        return {"version_id_col": cls.__table__.c.version}


def check_version(record, expected: int | None) -> None:
    if expected is not None and record.version != expected:
        raise ServiceError("precondition_failed",
                           f"the record is at version {record.version}, not {expected}; reload and retry")
