"""build_form: a department's layout as a WTForms form, built at request time.

    form = build_form(department.id, "customer", ticket.custom_fields, request.form)
    if form.validate():            # runtime.validate_submission: the same check the API gets
        update_ticket(ticket, {"custom_fields": {**ticket.custom_fields, **form.clean}}, by=...)

One WTForms field per visible layout field, named "cf-<key>" (the prefix keeps them apart from the
page's own fields), labelled in the reader's language, with the options that apply. Which fields are
visible follows the posted values when there are any (a sub-category shows up once its category is
picked). The form has no CSRF token of its own: the page's form around it carries one. Values are
plain text until validate_submission coerces them, so every error message is the one the API gives.
"""
from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any, Optional

from flask import has_app_context
from flask_babel import get_timezone
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField, TextAreaField

from ..forms import choices
from . import runtime
from .options import option_label
from .types import TYPES, BadValue, is_blank, zone

PREFIX = "cf"
_INPUT_TYPES = {"email": "email", "tel": "tel", "url": "url", "date": "date", "datetime-local": "datetime-local",
                "number": "number", "decimal": "number"}
_STEPS = {"number": "1", "decimal": "any", "currency": "0.01"}


class CustomFieldsForm(FlaskForm):
    """The fields are added per request by build_form; `validate()` asks validate_submission."""

    class Meta:
        csrf = False  # the page's form carries the token

    clean: dict
    sections: list

    def validate(self, extra_validators=None) -> bool:
        super().validate(extra_validators)
        submitted = {key: self._fields[key].data for key in self._editable}
        self.clean, errors = runtime.validate_submission(
            self._department_id, self._audience, submitted, current=self._current, tz=self._tz,
            ticket_fields=self._ticket_fields)
        for key, message in errors.items():
            target = self._fields.get(key)
            if target is not None:
                target.errors = [*target.errors, str(message)]
            else:
                self.form_errors.append(str(message))
        return not errors and not any(f.errors for f in self._fields.values())


def build_form(department_id: Optional[int], audience: str, values: Optional[dict], formdata=None, *,
               ticket_fields: Optional[dict] = None, tz: tzinfo | str | None = None) -> CustomFieldsForm:
    """The form for `department_id` and `audience` showing `values` (the ticket's custom_fields; {}
    for a new ticket), bound to `formdata` (request.form) when given."""
    values = dict(values or {})
    tz = tz if tz is not None else (get_timezone() if has_app_context() else None)
    sections = runtime.form_fields(department_id, audience, values, ticket_fields=ticket_fields)
    if formdata is not None:  # what the person picked decides what is visible now
        posted = _posted(formdata, sections, tz)
        sections = runtime.form_fields(department_id, audience, {**values, **posted}, ticket_fields=ticket_fields)
    shown = [f for section in sections for f in section.fields if f.visible]
    form_class = type("CustomFieldsForm", (CustomFieldsForm,), {f.key: _wtforms_field(f, values.get(f.key))
                                                                for f in shown})
    form = form_class(formdata=formdata, prefix=PREFIX, data={f.key: _shown_value(f, values.get(f.key), tz)
                                                              for f in shown})
    form._department_id, form._audience, form._current = department_id, audience, values
    form._tz, form._ticket_fields = tz, ticket_fields
    form._editable = [f.key for f in shown if not f.read_only]
    form.sections = sections
    form.clean = {}
    return form


def _posted(formdata, sections, tz) -> dict:
    """The posted values as conditions compare them (best effort: a bad one counts as empty)."""
    posted = {}
    for form_field in (f for section in sections for f in section.fields if not f.read_only):
        name = f"{PREFIX}-{form_field.key}"
        ftype = TYPES[form_field.type]
        if ftype.widget == "checkbox":
            if form_field.visible:  # a rendered box left unticked is not posted at all
                posted[form_field.key] = name in formdata
            continue
        if name not in formdata:
            continue
        raw = formdata.getlist(name) if ftype.choices == "many" else formdata.get(name)
        try:
            posted[form_field.key] = None if is_blank(raw) else ftype.coerce(raw, tz)
        except BadValue:
            posted[form_field.key] = None
    return posted


def _wtforms_field(form_field, stored: Any):
    ftype = TYPES[form_field.type]
    render_kw: dict[str, Any] = {}
    if form_field.read_only:
        render_kw["disabled"] = True
    if form_field.required:
        render_kw["required"] = True
    common = {"label": form_field.label, "description": form_field.help_text, "render_kw": render_kw}
    if ftype.widget == "checkbox":
        return BooleanField(**common)
    if ftype.choices:
        options = choices(_option_pairs(form_field.options, stored))
        if ftype.choices == "many":
            return SelectMultipleField(choices=options, validate_choice=False, **common)
        return SelectField(choices=[*choices([("", "—")]), *options], validate_choice=False, **common)
    if ftype.widget == "textarea":
        return TextAreaField(**common)
    if ftype.widget in _INPUT_TYPES:
        render_kw["type"] = _INPUT_TYPES[ftype.widget]
    if ftype.name in _STEPS:
        render_kw["step"] = _STEPS[ftype.name]
    return StringField(**common)


def _option_pairs(options: list[dict], stored: Any) -> list[tuple[str, str]]:
    """(value, label) of the options, plus a stored value they lack (the ticket moved department, the
    option was removed): shown as what it is, never silently replaced by the first option."""
    pairs = [(o["value"], option_label(o)) for o in options]
    known = {o["value"] for o in options}
    for value in stored if isinstance(stored, list) else [stored]:
        if isinstance(value, str) and value not in known:
            pairs.append((value, str(_l("%(value)s (not an option here)", value=value))))
    return pairs


def _shown_value(form_field, value: Any, tz) -> Any:
    """A stored value as its input shows it: date-times in the reader's time zone, numbers as text."""
    if value is None:
        return False if form_field.type == "checkbox" else None
    if form_field.type == "datetime" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value).astimezone(zone(tz)).strftime("%Y-%m-%dT%H:%M")
        except ValueError:
            return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return value
