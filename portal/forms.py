"""Form helpers shared by every screen."""
import zoneinfo

from flask_babel import lazy_gettext as _l
from wtforms import SelectChoice
from wtforms.validators import ValidationError

COMMON_TIMEZONES = ["UTC", "Asia/Shanghai", "Asia/Hong_Kong", "Asia/Taipei", "Asia/Singapore", "Asia/Tokyo",
                    "Asia/Kolkata", "Europe/London", "Europe/Berlin", "Europe/Paris", "America/New_York",
                    "America/Chicago", "America/Los_Angeles", "Australia/Sydney"]
_TIMEZONE_PAIRS = [(tz, tz.replace("_", " ")) for tz in COMMON_TIMEZONES] + [
    (tz, tz.replace("_", " ")) for tz in sorted(zoneinfo.available_timezones() - set(COMMON_TIMEZONES))
    if "/" in tz and not tz.startswith(("Etc/", "SystemV/", "US/"))]
TIMEZONE_CHOICES = [SelectChoice(value, label) for value, label in _TIMEZONE_PAIRS]


def choices(pairs) -> list[SelectChoice]:
    """WTForms 3.3 wants SelectChoice objects, not (value, label) tuples."""
    return [SelectChoice(value, label) for value, label in pairs]


def timezone_validator(_form, field):
    try:
        zoneinfo.ZoneInfo(field.data)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValidationError(_l("Unknown time zone.")) from None


def apply_service_errors(form, errors: dict) -> None:
    """Show a service's ValidationFailed messages on the form's fields (or on the form)."""
    for field, message in errors.items():
        target = getattr(form, field, None)
        if target is not None and hasattr(target, "errors"):
            target.errors = list(target.errors) + [str(message)]
        else:
            form.form_errors.append(str(message))
