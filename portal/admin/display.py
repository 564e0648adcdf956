"""How the admin screens show shifts and weekdays (in the viewer's language, from CLDR)."""
from datetime import time

from babel.dates import get_day_names
from flask_babel import get_locale
from flask_babel import gettext as _

WEEKDAYS = "1234567"  # ISO weekday digits, as stored in User.shift_days


def day_names(width: str = "abbreviated") -> dict[str, str]:
    """{"1": "Mon", ..., "7": "Sun"} in the current language ("周一" ... in Chinese)."""
    names = get_day_names(width, locale=get_locale() or "en")
    return {str(i + 1): names[i] for i in range(7)}


def days_label(days: str | None) -> str:
    """"12345" -> "Mon–Fri"; "67" -> "Sat/Sun"; "12357" -> "Mon–Wed/Fri/Sun" (runs of 3+ become ranges)."""
    days = "".join(d for d in WEEKDAYS if d in (days or ""))
    if not days:
        return ""
    if days == WEEKDAYS:
        return _("every day")
    names = day_names()
    runs: list[list[str]] = []
    for d in days:
        if runs and int(d) == int(runs[-1][-1]) + 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    parts = []
    for run in runs:
        if len(run) >= 3:
            parts.append(f"{names[run[0]]}–{names[run[-1]]}")
        else:
            parts.extend(names[d] for d in run)
    return "/".join(parts)


def hhmm(value: time | None) -> str:
    return value.strftime("%H:%M") if value else ""


def shift_label(user) -> str:
    """"09:00–18:00 Mon–Fri, Asia/Shanghai", or "No shift set"."""
    if not (user.shift_start and user.shift_end):
        return _("No shift set")
    text = f"{hhmm(user.shift_start)}–{hhmm(user.shift_end)}"
    days = days_label(user.shift_days)
    if days:
        text += f" {days}"
    return f"{text}, {(user.timezone or 'UTC').replace('_', ' ')}"
