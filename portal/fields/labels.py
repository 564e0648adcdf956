"""Admin-entered text comes in English and (optionally) Chinese: pick the reader's."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import get_locale


def reads_chinese() -> bool:
    try:
        return str(get_locale() or "en").startswith("zh")
    except RuntimeError:  # no app context: the default language
        return False


def localised(en: str, zh: str | None) -> str:
    return zh if zh and reads_chinese() else en


@dataclass(frozen=True)
class Bilingual:
    """A label that renders in the reader's language when it is turned into text (like a lazy
    string), so a cached condition catalogue serves readers of both languages."""

    en: str
    zh: str = ""

    def __str__(self) -> str:
        return localised(self.en, self.zh)
