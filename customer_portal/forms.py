from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, Length, Optional

from portal.forms import choices


class RequestForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[Optional(), Length(max=200)])
    email = EmailField(_l("Your email"), validators=[DataRequired(), Email(), Length(max=254)],
                       description=_l("We reply to this address."))
    department = SelectField(_l("What is it about?"), coerce=int)
    subject = StringField(_l("Subject"), validators=[DataRequired(), Length(max=300)])
    body = TextAreaField(_l("How can we help?"), validators=[DataRequired(), Length(max=100_000)])
    # Left empty by people; form-filling bots fill it (hidden with CSS, out of the tab order).
    website = StringField(_l("Leave this empty"), validators=[Optional()])

    @classmethod
    def with_departments(cls, departments) -> "RequestForm":
        form = cls()
        form.department.choices = choices((d.id, d.label) for d in departments)
        return form
