from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional, StopValidation

from ..forms import choices
from ..models import CHANNELS, PRIORITY_KEYS
from ..services.scoping import departments_for
from ..templating import CHANNEL_LABELS, PRIORITY_LABELS


class NewTicketForm(FlaskForm):
    # Required unless the ticket is a logged call: then the caller's number identifies them.
    contact_email = EmailField(_l("Customer email"), validators=[Length(max=254)])
    contact_name = StringField(_l("Customer name"), validators=[Optional(), Length(max=200)])
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=300)])
    body = TextAreaField(_l("Description"), validators=[DataRequired(), Length(max=100_000)])
    department = SelectField(_l("Department"), coerce=int)
    priority = SelectField(_l("Priority"), default="normal")
    channel = SelectField(_l("Channel"), default="phone")
    # A phone call: direction, number and duration (checked by portal.services.phone).
    is_call = BooleanField(_l("This ticket is a phone call"))
    call_direction = RadioField(_l("Direction"), choices=choices([("inbound", _l("Inbound")), ("outbound", _l("Outbound"))]),
                                default="inbound", validate_choice=False)
    call_number = StringField(_l("Phone number"), validators=[Length(max=40)])
    call_duration = StringField(_l("Duration"), validators=[Length(max=20)])

    def validate_contact_email(self, field):
        if field.data:
            Email()(self, field)
        elif not self.is_call.data:
            raise StopValidation(_l("Enter the customer's email, or log a phone call with their number."))

    @classmethod
    def for_user(cls, user) -> "NewTicketForm":
        form = cls()
        form.department.choices = choices((d.id, d.label) for d in departments_for(user) if d.active)
        form.priority.choices = choices((p, PRIORITY_LABELS[p]) for p in PRIORITY_KEYS)
        form.channel.choices = choices((c, CHANNEL_LABELS[c]) for c in CHANNELS)
        return form
