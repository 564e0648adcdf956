"""Regular expressions in conditions: checked at save so they run the same on both backends, and
run with a time limit.

Python evaluates with the `regex` package (it has a timeout); PostgreSQL with its own ARE engine
(`~*`); SQLite through a `regexp` function that calls `search` below. So a pattern is accepted only
if it uses what both engines read the same way: no lookbehind, no (?...) groups other than (?:...),
(?=...) and (?!...), no possessive quantifiers, and only escapes with the same meaning in both
(PostgreSQL reads \\b as a backspace, not a word boundary).

A search first looks for a literal every match must contain (`_prefilter`): most texts lack it,
and `in` says so far faster than the regex engine.
"""
from __future__ import annotations

import functools
import re
import warnings
import re._parser as _re_parser  # private, stable since 3.11; a pattern it can't read gets no prefilter
from re._constants import BRANCH, LITERAL, MAX_REPEAT, MIN_REPEAT, SUBPATTERN
from typing import Optional

import regex
from flask_babel import lazy_gettext as _l

FLAGS = regex.IGNORECASE | regex.V0
MAX_LENGTH = 500
# Seconds one search may take; init_app sets it from the app's REGEX_TIMEOUT_SECONDS.
settings = {"timeout": 0.05}
_ESCAPES_OK = set("dDsSwWtnrfvxuAZ123456789")
_CASE_TWINS = "\u0130\u212a\u017f"  # İ, K, ſ: IGNORECASE matches them with i, k, s
_CJK_OR_ASCII = re.compile("[\x00-\x7f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")


class ConditionTimeout(Exception):
    """A regex condition ran out of time on this text (the pattern backtracks catastrophically)."""

    def __init__(self, pattern: str):
        super().__init__(f"regex {pattern!r} ran longer than {settings['timeout']} s")
        self.pattern = pattern


@functools.lru_cache(maxsize=1024)
def compiled(pattern: str):
    return regex.compile(pattern, FLAGS)


@functools.lru_cache(maxsize=1024)
def _prefilter(pattern: str) -> tuple[Optional[frozenset], bool]:
    """(texts one of which every match contains, or None; whether İ/K/ſ in a text defeat that).

    `so\\d{8}` can only match where "so" occurs, and `in` finds that ~10x faster than the regex
    engine can fail on 2 KB. Under IGNORECASE a literal ASCII letter also matches its upper case
    (gone after fold) and, for i, k and s only, İ, K (Kelvin) and ſ, which fold keeps: a text with
    one of those runs the regex anyway. Only ASCII and CJK literals are used (other letters have
    case twins), and only patterns Python's own parser reads the same way (no [:class:]).
    """
    if "[:" in pattern:
        return None, False
    try:
        with warnings.catch_warnings():  # "possible nested set" and the like: re's future, not ours
            warnings.simplefilter("ignore")
            parsed = _re_parser.parse(pattern)
    except re.error:
        return None, False
    required = _required(list(parsed))
    if required is None:
        return None, False
    required = frozenset(_ascii_lower(text) for text in required)
    if not all(_CJK_OR_ASCII.fullmatch(text) for text in required):
        return None, False
    return required, any(c in text for text in required for c in "iks")


def _required(items: list) -> Optional[frozenset]:
    """The longest requirement of a parsed sequence: a literal run, or an alternation of them."""
    best, run = None, ""
    for op, av in items + [(None, None)]:
        if op is LITERAL:
            run += chr(av)
            continue
        candidates = [frozenset((run,))] if run else []
        run = ""
        if op is SUBPATTERN:
            candidates.append(_required(list(av[3])))
        elif op is BRANCH:
            branches = [_required(list(b)) for b in av[1]]
            if all(branches):
                candidates.append(frozenset().union(*branches))
        elif op in (MAX_REPEAT, MIN_REPEAT) and av[0] >= 1:
            candidates.append(_required(list(av[2])))
        for candidate in candidates:
            if candidate and (best is None or min(map(len, candidate)) > min(map(len, best))):
                best = candidate
    return best


def _ascii_lower(text: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in text)


def search(pattern: str, text: str, *, folded: bool = True) -> bool:
    """Does `pattern` match somewhere in `text`? Raises ConditionTimeout. The prefilter needs a
    folded text (no upper-case ASCII): say `folded=False` for any other."""
    if folded:
        required, twins_matter = _prefilter(pattern)
        if required is not None and not any(part in text for part in required) and not (
                twins_matter and any(twin in text for twin in _CASE_TWINS)):
            return False
    try:
        return compiled(pattern).search(text, timeout=settings["timeout"]) is not None
    except TimeoutError:
        raise ConditionTimeout(pattern) from None


def problem(pattern: str):
    """Why `pattern` can't be used (a lazy message), or None if it can."""
    if len(pattern) > MAX_LENGTH:
        return _l("The pattern is too long (at most %(num)d characters).", num=MAX_LENGTH)
    try:
        compiled(pattern)
    except regex.error as exc:
        return _l("The pattern is not a valid regular expression: %(error)s.", error=str(exc))
    return _portability_problem(pattern)


def _portability_problem(pattern: str):
    in_class = False
    i = 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            nxt = pattern[i + 1:i + 2]
            if nxt.isalnum() and nxt not in _ESCAPES_OK and not in_class:
                return _l("'\\%(escape)s' isn't supported in patterns.", escape=nxt)
            i += 2
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            i += 1
            if pattern[i:i + 1] == "^":
                i += 1
            if pattern[i:i + 1] == "]":  # a leading ] is a literal
                i += 1
            in_class = True
            continue
        elif pattern.startswith(("(?<=", "(?<!"), i):
            return _l("Lookbehind (?<=…) and (?<!…) isn't supported in patterns.")
        elif c == "(" and pattern[i + 1:i + 2] == "?" and pattern[i + 2:i + 3] not in (":", "=", "!"):
            return _l("Only (?:…), (?=…) and (?!…) groups are supported in patterns.")
        elif c == "+" and i and pattern[i - 1] in "*+?}" and not _escaped(pattern, i - 1):
            return _l("Possessive quantifiers (such as a++) aren't supported in patterns.")
        i += 1
    return None


def _escaped(pattern: str, i: int) -> bool:
    backslashes = 0
    while i > 0 and pattern[i - 1] == "\\":
        backslashes += 1
        i -= 1
    return backslashes % 2 == 1
