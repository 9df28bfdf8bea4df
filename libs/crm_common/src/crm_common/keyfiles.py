"""Files that hold one random key, base64 on one line (the bus key, identity's data key)."""
from __future__ import annotations

import base64
import os
from pathlib import Path


def generate(path: Path, size: int) -> Path:
    """Write `size` random bytes to `path` (mode 0600) unless a file is there already; never overwrite."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path
    with os.fdopen(fd, "wb") as fh:
        fh.write(base64.b64encode(os.urandom(size)) + b"\n")
    return path


def load(path: Path, size: int, error: type[Exception], what: str, how_to_generate: str) -> bytes:
    """The key in `path`; `error` (saying what is wrong, never the key) when it is missing or not `size` bytes."""
    path = Path(path)
    try:
        raw = path.read_bytes().strip()
    except FileNotFoundError:
        raise error(f"the {what} file {path} is missing ({how_to_generate})") from None
    try:
        key = base64.b64decode(raw, validate=True)
    except ValueError:
        key = b""
    if len(key) != size:
        raise error(f"the {what} file {path} does not hold {size} base64-encoded bytes")
    return key
