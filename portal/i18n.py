"""Language and time zone: the user's own choice, else the browser's, else English/UTC."""
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
