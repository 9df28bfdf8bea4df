"""Sealed secrets: open only under their key and context; key files written once, refused when malformed."""
import os
import stat

import pytest

from crm_common import secretbox


def test_a_sealed_value_opens_under_its_key_and_context_only(tmp_path):
    box = secretbox.load_key_file(secretbox.generate_key_file(tmp_path / "k1"))
    other = secretbox.load_key_file(secretbox.generate_key_file(tmp_path / "k2"))
    sealed = box.seal("JBSWY3DPEHPK3PXP", "totp:u1")
    middle = len(sealed) // 2
    tampered = sealed[:middle] + ("A" if sealed[middle] != "A" else "B") + sealed[middle + 1:]
    assert secretbox.is_sealed(sealed) and "JBSWY3DPEHPK3PXP" not in sealed
    assert box.seal("JBSWY3DPEHPK3PXP", "totp:u1") != sealed  # a fresh nonce each time
    assert box.open(sealed, "totp:u1") == "JBSWY3DPEHPK3PXP"
    for attempt in (lambda: box.open(sealed, "totp:u2"), lambda: other.open(sealed, "totp:u1"),
                    lambda: box.open(tampered, "totp:u1"), lambda: box.open("JBSWY3DPEHPK3PXP", "totp:u1"),
                    lambda: box.open("gcm1:???", "totp:u1")):
        with pytest.raises(secretbox.SealedValueError):
            attempt()


def test_the_key_file_is_private_and_never_replaced(tmp_path):
    path = secretbox.generate_key_file(tmp_path / "keys" / "data.key")
    first = path.read_bytes()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert secretbox.generate_key_file(path).read_bytes() == first


def test_a_missing_or_malformed_key_file_is_a_plain_error_without_the_key(tmp_path):
    with pytest.raises(secretbox.DataKeyError, match="missing"):
        secretbox.load_key_file(tmp_path / "absent.key")
    short = tmp_path / "short.key"
    short.write_text("c2hvcnQ=\n")
    with pytest.raises(secretbox.DataKeyError, match="32 base64-encoded bytes"):
        secretbox.load_key_file(short)
    garbage = tmp_path / "garbage.key"
    garbage.write_text("not base64 at all!\n")
    with pytest.raises(secretbox.DataKeyError):
        secretbox.load_key_file(garbage)
