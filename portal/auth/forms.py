from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField
from wtforms.validators import DataRequired, Length

from ..forms import TIMEZONE_CHOICES, choices, timezone_validator


class LoginForm(FlaskForm):
    # No format check here: a sign-in only needs to match an account, whatever its domain.
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class ProfileForm(FlaskForm):
    availability = SelectField(_l("Availability"), choices=choices(
        [("available", _l("Available")), ("away", _l("Away")), ("offline", _l("Offline"))]))
    language = SelectField(_l("Language"), choices=choices([("en", "English"), ("zh_Hans", "简体中文")]))
    timezone = SelectField(_l("Time zone"), choices=TIMEZONE_CHOICES, validators=[timezone_validator])
