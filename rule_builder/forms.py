"""Forms of the rule screens. The condition tree and the actions list are not WTForms fields: the
builder posts them as nested inputs that builder_state reads (see rule_builder/builder_state.py);
these forms carry the rest (name, department, trigger...) and the CSRF token."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from portal.forms import choices
from portal.models import CHANNELS, PRIORITY_KEYS, STATUSES, TIERS
from portal.services.scoping import departments_for, managed_departments
from portal.templating import CHANNEL_LABELS, PRIORITY_LABELS, STATUS_LABELS

from .models import EVENT_TRIGGERS, TRIGGERS
from .views.summary import TRIGGER_LABELS

TIER_LABELS = {"standard": _l("Standard"), "vip": _l("VIP")}
BACKTEST_SIZES = (1000, 10000)


def department_choices(actor, current_id: int | None = None, *, allow_all: bool | None = None):
    """Departments a rule may belong to: admins also "All departments"; supervisors their own."""
    allow_all = actor.is_admin if allow_all is None else allow_all
    departments = [d for d in managed_departments(actor) if d.active or d.id == current_id]
    pairs = [("", _("All departments"))] if allow_all else []
    pairs += [(str(d.id), d.label if d.active else _("%(name)s (inactive)", name=d.label)) for d in departments]
    return choices(pairs)


class RuleForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("About this rule"), validators=[Optional(), Length(max=2000)])
    department = SelectField(_l("Department"), default="")
    trigger = SelectField(_l("When"), default="created")
    enabled = BooleanField(_l("Enabled"), default=True)

    @classmethod
    def build(cls, actor, rule=None, **kwargs) -> "RuleForm":
        data = {}
        if rule is not None:
            data = dict(name=rule.name, description=rule.description or "",
                        department=str(rule.department_id) if rule.department_id else "", trigger=rule.trigger,
                        enabled=bool(rule.enabled))
        form = cls(data=data, **kwargs)
        form.department.choices = department_choices(actor, rule.department_id if rule else None)
        if not form.is_submitted() and rule is None and form.department.choices:
            form.department.data = form.department.choices[0].value
        form.trigger.choices = choices((t, TRIGGER_LABELS[t]) for t in TRIGGERS)
        return form

    @property
    def department_id(self) -> int | None:
        value = self.department.data
        allowed = {c.value for c in self.department.choices}
        return int(value) if value and value in allowed and str(value).isdigit() else None

    @property
    def context(self) -> str:
        return "query" if self.trigger.data == "time" else "event"


class ImportForm(FlaskForm):
    file = FileField(_l("Rules file (JSON)"))


class SimulateForm(FlaskForm):
    """A dry run: an existing ticket, or a sample one made up here (never saved)."""

    source = SelectField(_l("Ticket"), default="ticket")
    ticket = IntegerField(_l("Ticket number"), validators=[Optional(), NumberRange(min=1)])
    trigger = SelectField(_l("Event"), default="created")
    subject = StringField(_l("Subject"), validators=[Optional(), Length(max=300)])
    body = TextAreaField(_l("Message"), validators=[Optional(), Length(max=20000)])
    department = SelectField(_l("Department"), validate_choice=False)   # checked for sample tickets only
    priority = SelectField(_l("Priority"), default="normal")
    status = SelectField(_l("Status"), default="new")
    channel = SelectField(_l("Channel"), default="email")
    tier = SelectField(_l("Customer tier"), default="standard")
    language = SelectField(_l("Customer language"), default="en")
    tags = StringField(_l("Tags"), validators=[Optional(), Length(max=500)])

    @classmethod
    def build(cls, actor, **kwargs) -> "SimulateForm":
        form = cls(**kwargs)
        form.source.choices = choices([("ticket", _("An existing ticket")), ("sample", _("A sample ticket"))])
        form.trigger.choices = choices((t, TRIGGER_LABELS[t]) for t in EVENT_TRIGGERS + ("time",))
        form.department.choices = choices((str(d.id), d.label) for d in departments_for(actor) if d.active)
        form.priority.choices = choices((p, PRIORITY_LABELS[p]) for p in PRIORITY_KEYS)
        form.status.choices = choices((s, STATUS_LABELS[s]) for s in STATUSES)
        form.channel.choices = choices((c, CHANNEL_LABELS[c]) for c in CHANNELS)
        form.tier.choices = choices((t, TIER_LABELS.get(t, t)) for t in TIERS)
        form.language.choices = choices([("en", "English"), ("zh", "中文")])
        return form

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.source.data == "ticket" and not self.ticket.data and not self.ticket.errors:
            self.ticket.errors = [*self.ticket.errors, _("Enter a ticket number.")]
            ok = False
        if self.source.data == "sample":
            if not (self.subject.data or "").strip():
                self.subject.errors = [*self.subject.errors, _("Give the sample ticket a subject.")]
                ok = False
            if self.department.data not in {c.value for c in self.department.choices}:
                self.department.errors = [*self.department.errors, _("Choose a department.")]
                ok = False
        return ok
