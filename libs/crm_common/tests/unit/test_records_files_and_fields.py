"""crm_common.records without a database: file types from the bytes, file names, custom field values, mentions."""
from __future__ import annotations

import pytest

from crm_common.errors import ServiceError
from crm_common.records import attachments, custom_fields
from crm_common.records.comments import mentioned_emails

DOCX_HEAD = b"PK\x03\x04" + b"\x00" * 26 + b"word/document.xml"


@pytest.mark.parametrize("data,kind", [(b"%PDF-1.7 ...", "application/pdf"), (b"\x89PNG\r\n\x1a\n....", "image/png"),
                                       (DOCX_HEAD, attachments.DOCX), (b"name,amount\nAcme,3\n", "text/plain"),
                                       (b"MZ\x90\x00\x03\x00\x00\x00", None)])
def test_the_type_comes_from_the_bytes(data, kind):
    assert attachments.sniff(data) == kind


def test_a_name_that_lies_about_the_bytes_is_refused():
    assert attachments.checked_type("contract.docx", DOCX_HEAD) == attachments.DOCX
    assert attachments.checked_type("rows.csv", b"a,b\n1,2\n") == "text/csv"
    for name, data in (("invoice.pdf", b"MZ\x90\x00"), ("notes.txt", b"%PDF-1.4"), ("tool.exe", b"MZ")):
        with pytest.raises(ServiceError) as caught:
            attachments.checked_type(name, data)
        assert list(caught.value.errors) == ["file"]


def test_file_names_are_sanitised():
    assert attachments.sanitize("../../etc/passwd") == "passwd"
    assert attachments.sanitize('C:\\Users\\a\\Contract "final";.pdf') == "Contract _final__.pdf"
    assert attachments.sanitize(" .. ") == "file" and attachments.sanitize("a\x00b.txt") == "a_b.txt"
    assert len(attachments.sanitize("a" * 300 + ".pdf")) <= 200 and attachments.sanitize("a" * 300 + ".pdf").endswith(".pdf")


@pytest.mark.parametrize("kind,value,stored", [("number", 5, 5), ("decimal", "12.50", "12.50"), ("decimal", 3, "3"),
                                               ("date", "2026-12-04", "2026-12-04"), ("boolean", False, False),
                                               ("email", " Ada@Example.COM", "ada@example.com"),
                                               ("url", "https://acme.example/x", "https://acme.example/x")])
def test_values_are_taken_as_their_type(kind, value, stored):
    assert custom_fields.coerce({"type": kind, "choices": []}, value) == stored


@pytest.mark.parametrize("kind,value", [("number", "5"), ("number", True), ("decimal", 1.5), ("date", "04/12/2026"),
                                        ("boolean", "yes"), ("email", "nope"), ("url", "javascript:alert(1)"),
                                        ("user", "not-an-id"), ("choice", "other"), ("multi_choice", "a")])
def test_wrong_values_are_refused(kind, value):
    with pytest.raises(ValueError):
        custom_fields.coerce({"type": kind, "choices": ["a", "b"]}, value)


def test_query_text_is_read_as_the_field_type():
    assert custom_fields.coerce({"type": "number", "choices": []}, "42", from_text=True) == 42
    assert custom_fields.coerce({"type": "boolean", "choices": []}, "true", from_text=True) is True
    assert custom_fields.coerce({"type": "multi_choice", "choices": ["a"]}, "a", from_text=True) == ["a"]


def test_mentions():
    assert mentioned_emails("@a@x.io, @B@x.io and @a@x.io; mail a@x.io") == ["a@x.io", "b@x.io"]
