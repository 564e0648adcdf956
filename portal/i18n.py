"""Language and time zone: the user's own choice, else the browser's, else English/UTC."""
import json

from flask import current_app, has_request_context, request, session
from flask_login import current_user


def select_locale() -> str:
    if not has_request_context():  # CLI commands and jobs: messages in the default language
        return current_app.config["BABEL_DEFAULT_LOCALE"]
    languages = list(current_app.config["LANGUAGES"])
    if getattr(current_user, "is_authenticated", False) and current_user.language in languages:
        return current_user.language
    if session.get("language") in languages:
        return session["language"]
    best = request.accept_languages.best_match(["en", "zh", "zh-CN", "zh-Hans"]) if request else None
    return "zh_Hans" if best and best.startswith("zh") else "en"


def select_timezone() -> str:
    if not has_request_context():
        return current_app.config["BABEL_DEFAULT_TIMEZONE"]
    if getattr(current_user, "is_authenticated", False) and current_user.timezone:
        return current_user.timezone
    return session.get("timezone") or current_app.config["BABEL_DEFAULT_TIMEZONE"]


# --------------------------------------------------------------------------------------------
# Text stored now and read later, in the reader's language
# --------------------------------------------------------------------------------------------
# A channel's delivery log notes why a push was refused at push time, when nobody's language is
# known (the sender is a machine; WeChat's servers even ask for Chinese). So the note keeps the
# messages themselves, untranslated, and each reader sees them in their own language.
STORED_PREFIX = "\x1fi18n:"


def keep_text(*parts) -> str | None:
    """Parts (lazy_gettext strings, plain text, or (label, lazy or plain) pairs) as one storable
    string; plain text only stays plain text."""
    from flask_babel import LazyString

    def one(part):
        if isinstance(part, tuple):
            label, message = part
            return {"label": str(label), **one(message)}
        if isinstance(part, LazyString) and part._args:
            return {"msgid": part._args[0], "params": {k: str(v) for k, v in part._kwargs.items()}}
        return {"text": str(part)}

    items = [one(part) for part in parts if part is not None and str(part) != ""]
    if not items:
        return None
    if all(set(item) == {"text"} for item in items):
        return "; ".join(item["text"] for item in items)
    return STORED_PREFIX + json.dumps(items, ensure_ascii=False)


def read_text(stored: str | None) -> str:
    """A `keep_text` string in the current language (older plain notes as they are)."""
    if not stored or not stored.startswith(STORED_PREFIX):
        return stored or ""
    from flask_babel import gettext
    try:
        items = json.loads(stored[len(STORED_PREFIX):])
    except ValueError:
        return stored[len(STORED_PREFIX):]
    shown = []
    for item in items:
        message = item.get("msgid")  # a variable: pybabel would extract a literal key as a msgid
        text = gettext(message, **item.get("params", {})) if message else item.get("text", "")
        shown.append(f"{item['label']}: {text}" if item.get("label") else text)
    return "; ".join(shown)
