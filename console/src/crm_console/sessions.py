"""Server-side sessions: the cookie holds a random id only; the tokens stay on the server.

Kept in Redis when CRM_CONSOLE_REDIS_URL is set, else in a SQLite file under the var directory (every
gunicorn worker opens the same file). Idle sessions expire after CRM_CONSOLE_SESSION_HOURS (default 12).
"""
from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
import time
from pathlib import Path

from flask import g
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import CallbackDict

COOKIE = "crm_console"


class ServerSession(CallbackDict, SessionMixin):
    def __init__(self, sid: str, data: dict | None = None, new: bool = False):
        def touched(_):
            self.modified = True
        super().__init__(data or {}, touched)
        self.sid, self.new, self.modified = sid, new, False


WAL_TRIES = 100  # about 10 s in all, as the connection's busy timeout


def _use_wal(db: sqlite3.Connection) -> None:
    """Switch the file to WAL. Processes opening a new file at once (gunicorn's workers at a first start) each
    switch it: SQLite refuses all but one at once with 'database is locked' instead of calling the busy handler
    (each holds a shared lock the others need gone), so the refused ones try again shortly."""
    for attempt in range(WAL_TRIES):
        try:
            db.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or attempt == WAL_TRIES - 1:
                raise
            time.sleep(0.02 + 0.08 * attempt / WAL_TRIES)


class SqliteStore:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = str(path)
        self._local = threading.local()
        with self._db() as db:
            db.execute("CREATE TABLE IF NOT EXISTS console_sessions (id TEXT PRIMARY KEY, data TEXT NOT NULL, "
                       "expires REAL NOT NULL)")

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = self._local.db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
            _use_wal(db)
        return db

    def get(self, sid: str) -> dict | None:
        row = self._db().execute("SELECT data FROM console_sessions WHERE id = ? AND expires > ?",
                                 (sid, time.time())).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, sid: str, data: dict, ttl: int) -> None:
        db = self._db()
        db.execute("INSERT OR REPLACE INTO console_sessions (id, data, expires) VALUES (?, ?, ?)",
                   (sid, json.dumps(data), time.time() + ttl))
        if secrets.randbelow(200) == 0:
            db.execute("DELETE FROM console_sessions WHERE expires < ?", (time.time(),))

    def delete(self, sid: str) -> None:
        self._db().execute("DELETE FROM console_sessions WHERE id = ?", (sid,))


class RedisStore:
    def __init__(self, url: str):
        import redis
        self.redis = redis.Redis.from_url(url)

    def get(self, sid: str) -> dict | None:
        raw = self.redis.get(f"crm:console:session:{sid}")
        return json.loads(raw) if raw else None

    def put(self, sid: str, data: dict, ttl: int) -> None:
        self.redis.set(f"crm:console:session:{sid}", json.dumps(data), ex=ttl)

    def delete(self, sid: str) -> None:
        self.redis.delete(f"crm:console:session:{sid}")


def make_store(var_dir: str):
    url = os.environ.get("CRM_CONSOLE_REDIS_URL")
    return RedisStore(url) if url else SqliteStore(Path(var_dir) / "console" / "sessions.sqlite3")


class ServerSessionInterface(SessionInterface):
    def __init__(self, store, secure: bool, ttl: int):
        self.store, self.secure, self.ttl = store, secure, ttl

    def open_session(self, app, request):
        sid = request.cookies.get(COOKIE)
        if sid:
            data = self.store.get(sid)
            if data is not None:
                return ServerSession(sid, data)
        return ServerSession(secrets.token_urlsafe(32), new=True)

    def save_session(self, app, session: ServerSession, response):
        if not session and session.new:
            return
        if g.get("session_read_only"):  # a background read (the menu's badge): never writes back a session that a
            return                       # sign-out or a language switch changed meanwhile
        self.store.put(session.sid, dict(session), self.ttl)
        if session.new or session.modified:
            response.set_cookie(COOKIE, session.sid, max_age=self.ttl, httponly=True, samesite="Lax",
                                secure=self.secure, path="/")

    def rotate(self, session: ServerSession) -> None:
        """A new id at sign-in (no session fixation)."""
        self.store.delete(session.sid)
        session.sid, session.new, session.modified = secrets.token_urlsafe(32), True, True
