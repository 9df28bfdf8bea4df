"""Unguessable signed tokens for the public links of a message (open pixel, click, unsubscribe) and of a
double opt-in confirmation.

A token names one message (and, for a click, the index of the link in that message) and is signed with
HMAC-SHA256 under the marketing key (`CRM_MARKETING_KEY_FILE`, 32 random bytes; every replica holds the
same). The purpose is part of what is signed, so an open token is no unsubscribe token. A token carries no
address or other personal data; a forged or altered token reads as None (the routes answer 404)."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import struct
import uuid
from functools import lru_cache
from pathlib import Path

from crm_common import config, keyfiles

KEY_BYTES = 32
MAC_BYTES = 16
PURPOSES = ("open", "click", "unsubscribe", "confirm")
NO_LINK = 0xFFFF


class MarketingKeyError(RuntimeError):
    """The marketing key file is malformed."""


def key_file() -> Path:
    return _key_file(config.env("CRM_MARKETING_KEY_FILE"), config.env("CRM_VAR_DIR"))


@lru_cache(maxsize=8)
def _key_file(explicit: str | None, _var: str | None) -> Path:
    # cached: var_dir() makes the directory (a system call), and a campaign send makes five tokens a message
    return Path(explicit or (config.var_dir() / "keys" / "marketing.key"))


@lru_cache(maxsize=4)
def _key(path: str) -> bytes:
    keyfiles.generate(Path(path), KEY_BYTES)  # never overwrites: every process of a deployment reads one key
    return keyfiles.load(Path(path), KEY_BYTES, MarketingKeyError, "marketing key",
                         f"remove {path} to have a new one made (links already sent stop working)")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signing_key() -> bytes:
    """The marketing key (read once per process and file)."""
    return _key(str(key_file()))


def _mac(purpose: str, payload: bytes, key: bytes | None = None) -> bytes:
    return hmac.digest(key or signing_key(), purpose.encode() + b"\0" + payload, hashlib.sha256)[:MAC_BYTES]


@lru_cache(maxsize=32)
def _pads(key: bytes, purpose: str) -> tuple:
    """HMAC-SHA256 (RFC 2104) of one key and purpose made ahead: the inner hash fed with the key's inner pad
    and the purpose, the outer with its outer pad. A token then costs two hash copies and two short updates
    (a third of `hmac.digest`'s cost, which pads the key again for every token); the MAC is the same."""
    block = hashlib.sha256().block_size
    padded = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in padded) + purpose.encode() + b"\0")
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in padded))
    return inner, outer


def _fast_mac(pads: tuple, payload: bytes) -> bytes:
    inner, outer = pads[0].copy(), pads[1].copy()
    inner.update(payload)
    outer.update(inner.digest())
    return outer.digest()[:MAC_BYTES]


def make(purpose: str, record_id: str, link: int | None = None) -> str:
    """The token for `purpose` of one message (or consent, for `confirm`); `link` is a click's link index."""
    return Minter(record_id).make(purpose, link)


class Minter:
    """The tokens of one record (a message's pixel, clicks and unsubscribe): its id parsed and the key read
    once, not per token (a campaign send makes four or more per message), each signed with the key's pads
    made ahead (`_pads`)."""

    __slots__ = ("record", "key")

    def __init__(self, record_id: str, key: bytes | None = None):
        self.record = uuid.UUID(record_id).bytes
        self.key = key or signing_key()

    def make(self, purpose: str, link: int | None = None) -> str:
        pads = _PADS.get((self.key, purpose))
        if pads is None:
            if purpose not in PURPOSES:
                raise ValueError(f"unknown token purpose {purpose!r}")
            pads = _PADS[(self.key, purpose)] = _pads(self.key, purpose)
        payload = self.record + (_NO_LINK if link is None else struct.pack(">H", link))
        inner, outer = pads[0].copy(), pads[1].copy()
        inner.update(payload)
        outer.update(inner.digest())
        # _b64 of payload and MAC, without its calls
        return binascii.b2a_base64(payload + outer.digest()[:MAC_BYTES], newline=False).translate(_URLSAFE) \
            .rstrip(b"=").decode()


_PADS: dict = {}  # (key, purpose) -> _pads(key, purpose): read without lru_cache's call per token
_NO_LINK = struct.pack(">H", NO_LINK)
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def read(purpose: str, token: str) -> tuple[str, int | None] | None:
    """(record id, link index or None) of a genuine token for `purpose`; None for anything else."""
    if purpose not in PURPOSES or not isinstance(token, str) or not 0 < len(token) <= 64:
        return None
    try:
        raw = _unb64(token)
    except (ValueError, TypeError):
        return None
    if len(raw) != 18 + MAC_BYTES:
        return None
    payload, mac = raw[:18], raw[18:]
    if not hmac.compare_digest(mac, _mac(purpose, payload)):
        return None
    (link,) = struct.unpack(">H", payload[16:])
    return str(uuid.UUID(bytes=payload[:16])), None if link == NO_LINK else link
