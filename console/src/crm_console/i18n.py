"""Language and time zone: the user's choice (kept in the session), else the browser's."""
from __future__ import annotations

from flask import request, session

LANGUAGES = {"en": "English", "zh": "简体中文"}


def select_locale() -> str:
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return chosen
    best = request.accept_languages.best_match(["en", "zh", "zh-CN", "zh-Hans", "zh-TW"])
    return "zh" if best and best.startswith("zh") else "en"


def select_timezone() -> str:
    return session.get("tz") or "UTC"
