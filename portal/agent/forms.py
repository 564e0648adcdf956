from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from ..forms import choices
from ..models import CHANNELS, PRIORITY_KEYS
from ..services.scoping import departments_for
from ..templating import CHANNEL_LABELS, PRIORITY_LABELS


class NewTicketForm(FlaskForm):
    contact_email = EmailField(_l("Customer email"), validators=[DataRequired(), Email(), Length(max=254)])
    contact_name = StringField(_l("Customer name"), validators=[Optional(), Length(max=200)])
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=300)])
    body = TextAreaField(_l("Description"), validators=[DataRequired(), Length(max=100_000)])
    department = SelectField(_l("Department"), coerce=int)
    priority = SelectField(_l("Priority"), default="normal")
    channel = SelectField(_l("Channel"), default="phone")

    @classmethod
    def for_user(cls, user) -> "NewTicketForm":
        form = cls()
        form.department.choices = choices((d.id, d.label) for d in departments_for(user) if d.active)
        form.priority.choices = choices((p, PRIORITY_LABELS[p]) for p in PRIORITY_KEYS)
        form.channel.choices = choices((c, CHANNEL_LABELS[c]) for c in CHANNELS)
        return form
