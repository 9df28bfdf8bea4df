"""The local mail catcher: an SMTP server that delivers nowhere and keeps every message as a file.

    python -m crm_common.mailcatcher [--host 127.0.0.1] [--port 8025] [--dir var/mail]

Each message is written as `<dir>/<UTC timestamp>-<id>.eml` (the bytes as received, with `X-Catcher-*`
headers naming the envelope's sender and recipients), so a new user opens what a campaign sent in any mail
client. `make run` starts it when CRM_SMTP_URL is not set (crm_common.suite), and the tests start it on a
free port. It runs aiosmtpd on asyncio in a process of its own (asyncio libraries do not run on nameko's hub).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from aiosmtpd.smtp import SMTP

from crm_common import config
from crm_common.ports import free_port


def mail_dir() -> Path:
    return Path(config.env("CRM_MAIL_DIR") or (config.var_dir() / "mail"))


class Keeper:
    """The aiosmtpd handler: one .eml file per message and recipient list."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        name = f"{stamp}-{uuid.uuid4().hex[:12]}.eml"
        head = (f"X-Catcher-Mail-From: {envelope.mail_from}\r\n"
                f"X-Catcher-Rcpt-To: {', '.join(envelope.rcpt_tos)}\r\n").encode()
        temporary = self.directory / f".{name}.tmp"
        temporary.write_bytes(head + envelope.original_content)
        os.replace(temporary, self.directory / name)  # a reader never sees half a message
        return "250 Message accepted for delivery"


async def serve(host: str, port: int, directory: Path) -> None:
    keeper = Keeper(directory)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(keeper, hostname="crm-mailcatcher", data_size_limit=None,
                                                   enable_SMTPUTF8=True), host, port)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(f"mail catcher on smtp://{host}:{port}: every message is kept in {directory}/ as a .eml file", flush=True)
    async with server:
        await stop.wait()


@contextmanager
def running(directory: Path, port: int | None = None, timeout: float = 15):
    """A catcher in a process of its own on `port` (a free one by default), for tests and benchmarks:
    yields its `smtp://` URL; stopped on exit."""
    if port is None:
        port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "crm_common.mailcatcher", "--port", str(port),
                             "--dir", str(directory)], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the mail catcher did not start on port {port}") from None
                time.sleep(0.05)
        yield f"smtp://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def caught(directory: Path) -> list:
    """The messages in `directory`, parsed (oldest first)."""
    import email
    import email.policy
    return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(Path(directory).glob("*.eml"))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8025)
    parser.add_argument("--dir", type=Path, default=None, help="where messages go (default CRM_MAIL_DIR or var/mail)")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.host, args.port, (args.dir or mail_dir()).resolve()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
