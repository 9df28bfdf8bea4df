"""Files attached to any record: the type read from the bytes (not the name), the name sanitised, a size limit
per file and per record, kept on local disk under var/attachments/<service>/ or in an S3-compatible store
(crm_common.records.filestore, CRM_ATTACHMENT_STORE), every upload and delete in the audit trail (the service's
record_changed event). `keep(...)` attaches a file the service made itself (a quote's or contract's document).

`functions(metadata, service, loaders, changed_event)`: `loaders` maps a resource to the service's scoped read
`load(ctx, record_id, action)` (404 out of scope); reading an attachment needs read access to its record,
adding or deleting one update access.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import re
import unicodedata
from types import SimpleNamespace

from sqlalchemy import Column, Integer, MetaData, String, Table, func, select, update

from crm_common import config
from crm_common.db import new_id, utcnow
from crm_common.errors import ServiceError, validation
from crm_common.records import filestore
from crm_common.types import UTCDateTime

TABLE = "attachments"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
# extension -> the content type its bytes must show
EXTENSIONS = {"pdf": "application/pdf", "png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg",
              "gif": "image/gif", "docx": DOCX, "xlsx": XLSX, "pptx": PPTX, "zip": "application/zip",
              "txt": "text/plain", "csv": "text/csv", "md": "text/plain"}


def install(metadata: MetaData) -> Table:
    if TABLE in metadata.tables:
        return metadata.tables[TABLE]
    return Table(
        TABLE, metadata,
        Column("id", String(36), primary_key=True),
        Column("resource", String(40), nullable=False),
        Column("record_id", String(36), nullable=False, index=True),
        Column("filename", String(200), nullable=False),
        Column("content_type", String(120), nullable=False),
        Column("size", Integer, nullable=False),
        Column("sha256", String(64), nullable=False),
        Column("created_by", String(36), nullable=True),
        Column("created_at", UTCDateTime(), nullable=False),
        Column("deleted_at", UTCDateTime(), nullable=True),
    )


def sniff(data: bytes) -> str | None:
    """The content type the bytes show (a small signature reader), None when unknown."""
    if data.startswith(b"%PDF-"):
        return "application/pdf"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data.startswith(b"PK\x03\x04"):
        head = data[:65536]
        for marker, kind in ((b"word/", DOCX), (b"xl/", XLSX), (b"ppt/", PPTX)):
            if marker in head:
                return kind
        return "application/zip"
    if b"\x00" not in data[:8192]:
        try:
            data[:8192].decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < 8188:  # not a character cut at the sample's end
                return None
        return "text/plain"
    return None


def sanitize(filename: str) -> str:
    """A file name safe in a header and on any disk: its last path part, no control or reserved characters."""
    name = unicodedata.normalize("NFC", (filename or "").replace("\\", "/").rsplit("/", 1)[-1])
    name = re.sub(r"[\x00-\x1f\x7f\"<>:|?*;]", "_", name).strip(" .")
    stem, dot, ext = name.rpartition(".")
    if len(name) > 200:
        name = (stem[:190] + dot + ext[:9]) if dot else name[:200]
    return name or "file"


def checked_type(filename: str, data: bytes) -> str:
    """The content type of an upload whose name and bytes agree (422 otherwise)."""
    ext = filename.rpartition(".")[2].lower() if "." in filename else ""
    expected, found = EXTENSIONS.get(ext), sniff(data)
    if expected is None:
        raise validation({"file": [f"files of this type are not taken (allowed: {', '.join(sorted(EXTENSIONS))})"]})
    if found is None or (found != expected and not (expected == "text/csv" and found == "text/plain")):
        raise validation({"file": [f"the content is not what the name says (.{ext})"]})
    return expected


def functions(metadata: MetaData, service: str, loaders: dict, changed_event: str) -> SimpleNamespace:
    table = install(metadata)

    def _row(ctx, attachment_id: str, action: str) -> dict:
        row = ctx.session.execute(select(table).where(table.c.id == attachment_id, table.c.deleted_at.is_(None))
                                  ).mappings().first()
        load = loaders.get(row["resource"]) if row is not None else None
        if load is None:
            raise ServiceError("not_found", "attachment not found")
        try:
            load(ctx, row["record_id"], action)
        except ServiceError as exc:
            if exc.code in ("not_found", "forbidden"):
                raise ServiceError("not_found", "attachment not found") from None
            raise
        return dict(row)

    def keep(ctx, resource: str, record_id: str, filename: str, content: bytes) -> dict:
        """Attach `content` to the record (already loaded by the caller, with its scope checked): limits, type and
        name checked as for an upload (422), stored, announced."""
        if not content:
            raise validation({"file": ["the file is empty"]})
        if len(content) > config.env_int("CRM_ATTACHMENT_MAX_BYTES", 8 * 1024 * 1024):
            raise validation({"file": ["the file is larger than the limit (CRM_ATTACHMENT_MAX_BYTES)"]})
        held = ctx.session.execute(select(func.coalesce(func.sum(table.c.size), 0)).where(
            table.c.resource == resource, table.c.record_id == record_id, table.c.deleted_at.is_(None))).scalar()
        if held + len(content) > config.env_int("CRM_ATTACHMENT_MAX_RECORD_BYTES", 64 * 1024 * 1024):
            raise validation({"file": ["the record's files would pass their limit "
                                       "(CRM_ATTACHMENT_MAX_RECORD_BYTES)"]})
        filename = sanitize(filename)
        row = {"id": new_id(), "resource": resource, "record_id": record_id, "filename": filename,
               "content_type": checked_type(filename, content), "size": len(content),
               "sha256": hashlib.sha256(content).hexdigest(), "created_by": ctx.caller.user_id,
               "created_at": utcnow(), "deleted_at": None}
        ctx.session.execute(table.insert().values(**row))
        filestore.current().put(service, row["id"], content)  # a store that fails rolls the row back
        ctx.emit(changed_event, {"entity": "attachment", "id": row["id"], "action": "create", "changed_fields": []})
        return row

    def upload(resource: str):
        def uploaded(ctx, record_id: str, data: dict) -> dict:
            loaders[resource](ctx, record_id, "update")
            try:
                content = base64.b64decode(data["content_base64"], validate=True)
            except (binascii.Error, ValueError):
                raise validation({"content_base64": ["not base64"]}) from None
            return keep(ctx, resource, record_id, data["filename"], content)
        return uploaded

    def listing(resource: str):
        def listed(ctx, record_id: str, query: dict | None = None) -> dict:
            loaders[resource](ctx, record_id, "read")
            rows = ctx.session.execute(select(table).where(
                table.c.resource == resource, table.c.record_id == record_id, table.c.deleted_at.is_(None))
                .order_by(table.c.created_at, table.c.id)).mappings().all()
            return {"items": [dict(row) for row in rows], "next_cursor": None}
        return listed

    def content(ctx, record_id: str) -> dict:
        row = _row(ctx, record_id, "read")
        data = filestore.current().get(service, row["id"])
        return {**row, "content_base64": base64.b64encode(data).decode()}

    def delete(ctx, record_id: str) -> None:
        row = _row(ctx, record_id, "update")
        ctx.session.execute(update(table).where(table.c.id == row["id"]).values(deleted_at=utcnow()))
        ctx.emit(changed_event, {"entity": "attachment", "id": row["id"], "action": "delete", "changed_fields": []})

    def erase_for(ctx, resource: str, record_ids: list[str]) -> int:
        """Privacy erasure: the files of these records go from the disk and the table."""
        if not record_ids:
            return 0
        rows = ctx.session.execute(select(table.c.id).where(table.c.resource == resource,
                                                            table.c.record_id.in_(record_ids))).scalars().all()
        store = filestore.current()
        for attachment_id in rows:
            store.delete(service, attachment_id)
        ctx.session.execute(table.delete().where(table.c.id.in_(rows)))
        for attachment_id in rows:
            ctx.emit(changed_event, {"entity": "attachment", "id": attachment_id, "action": "delete",
                                     "changed_fields": []})
        return len(rows)

    def held_by(session, resource: str, record_ids: list[str]) -> list[dict]:
        """Privacy export: the metadata (not the bytes) of the files these records hold."""
        if not record_ids:
            return []
        rows = session.execute(select(table.c.id, table.c.resource, table.c.record_id, table.c.filename,
                                      table.c.content_type, table.c.size, table.c.sha256, table.c.created_at)
                               .where(table.c.resource == resource, table.c.record_id.in_(record_ids),
                                      table.c.deleted_at.is_(None)).order_by(table.c.created_at, table.c.id))
        return [dict(row) for row in rows.mappings()]

    return SimpleNamespace(keep=keep, upload=upload, listing=listing, content=content, delete=delete, erase_for=erase_for,
                           held_by=held_by)
