"""Forms for the admin screens. Choices depend on who is asking, so each form has a builder that
fills them in on the instance (never on the shared class)."""
from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (EmailField, IntegerField, PasswordField, SelectField, SelectMultipleField,
                     StringField)
from wtforms.fields import TimeField
from wtforms.validators import DataRequired, Email, InputRequired, Length, NumberRange, Optional, StopValidation
from wtforms.widgets import CheckboxInput, ListWidget

from ..extensions import db
from ..forms import TIMEZONE_CHOICES, choices, timezone_validator
from ..models import AVAILABILITY, ROLES, Department, Team, User
from ..services.scoping import managed_departments
from ..templating import AVAILABILITY_LABELS, ROLE_LABELS
from .display import WEEKDAYS, day_names
from .services import CAPACITY_MAX, CAPACITY_MIN, AgentData


_PASSWORD_LENGTH = _l("Use 8 to 200 characters.")


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


TIMEZONES = TIMEZONE_CHOICES


def _stop_if_unreadable(_form, field):
    """The value didn't parse (its message is already there): don't add range messages about nothing."""
    if field.process_errors:
        raise StopValidation()


def _department_choice(d: Department) -> tuple[int, str]:
    return d.id, d.label if d.active else _("%(name)s (inactive)", name=d.label)


class DepartmentForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    name_zh = StringField(_l("Name in Chinese"), validators=[Optional(), Length(max=120)])
    email = EmailField(_l("From address"), validators=[Optional(), Email(), Length(max=254)])


class TeamForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    name_zh = StringField(_l("Name in Chinese"), validators=[Optional(), Length(max=120)])
    department = SelectField(_l("Department"), coerce=int)
    members = MultiCheckboxField(_l("Members"), coerce=int)

    @classmethod
    def build(cls, actor: User, team: Team | None = None, department_id: int | None = None,
              **kwargs) -> "TeamForm":
        data = {}
        if team is not None:
            data = dict(name=team.name, name_zh=team.name_zh, department=team.department_id,
                        members=[u.id for u in team.members])
        elif department_id:
            data = dict(department=department_id)
        form = cls(data=data, **kwargs)
        departments = [d for d in managed_departments(actor) if d.active or (team and d.id == team.department_id)]
        form.department.choices = choices(_department_choice(d) for d in departments)
        if form.department.data not in [d.id for d in departments] and departments and not form.is_submitted():
            form.department.data = departments[0].id  # e.g. ?department= of an inactive one: start from a valid one
        # Anyone in a managed department may be posted (the service names who isn't in this team's
        # department); the page lists only the chosen department's people.
        people = list(db.session.scalars(
            select(User).where(User.departments.any(Department.id.in_([d.id for d in departments])))
            .order_by(User.name)))
        form.members.choices = choices((u.id, u.name) for u in people)
        chosen = set(form.members.data or [])
        form.member_options = choices((u.id, u.name if u.active else _("%(name)s (inactive)", name=u.name))
                                      for u in people
                                      if (form.department.data in u.department_ids and u.active) or u.id in chosen)
        form.department_obj = next((d for d in departments if d.id == form.department.data), None)
        form.people = {u.id: u for u in people}
        return form

    def selected_members(self) -> list[User]:
        return [self.people[i] for i in self.members.data or [] if i in self.people]


class AgentForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=120)])
    role = SelectField(_l("Role"), default="agent")
    password = PasswordField(_l("Password"), validators=[Optional(), Length(min=8, max=200, message=_PASSWORD_LENGTH)])
    departments = MultiCheckboxField(_l("Departments"), coerce=int)
    teams = MultiCheckboxField(_l("Teams"), coerce=int)
    skills = StringField(_l("Skills"), validators=[Optional(), Length(max=1000)])
    capacity = IntegerField(_l("Capacity"), default=20, validators=[
        InputRequired(_l("Enter a number of tickets.")), _stop_if_unreadable,
        NumberRange(CAPACITY_MIN, CAPACITY_MAX, _l("Between %(min)s and %(max)s open tickets."))])
    shift_start = TimeField(_l("Shift starts"), validators=[Optional()])
    shift_end = TimeField(_l("Shift ends"), validators=[Optional()])
    shift_days = MultiCheckboxField(_l("Working days"), default=list("12345"))
    # Any real zone is fine (the list is a convenience), so one clear message: timezone_validator's.
    timezone = SelectField(_l("Time zone"), choices=TIMEZONES, validate_choice=False, validators=[timezone_validator])
    language = SelectField(_l("Language"), default="en")
    availability = SelectField(_l("Availability"), default="available")

    @classmethod
    def build(cls, actor: User, user: User | None = None, department_id: int | None = None,
              **kwargs) -> "AgentForm":
        if user is not None:
            data = dict(email=user.email, name=user.name, role=user.role, departments=user.department_ids,
                        teams=[t.id for t in user.teams], skills=", ".join(s.name for s in user.skills),
                        capacity=user.capacity, shift_start=user.shift_start, shift_end=user.shift_end,
                        shift_days=list(user.shift_days or ""), timezone=user.timezone, language=user.language,
                        availability=user.availability)
        else:
            data = dict(timezone=actor.timezone or "UTC", language=actor.language or "en")
            managed = managed_departments(actor)
            if department_id:
                data["departments"] = [department_id]
            elif len(managed) == 1:
                data["departments"] = [managed[0].id]
        form = cls(data=data, **kwargs)
        if user is None:
            form.password.validators = [DataRequired(_l("Set a password.")),
                                        Length(min=8, max=200, message=_PASSWORD_LENGTH)]
            form.password.label.text = _l("Password")
        else:
            form.password.label.text = _l("New password")
        roles = ROLES if actor.is_admin else ("agent",)
        form.role.choices = choices((r, ROLE_LABELS[r]) for r in roles)
        form.language.choices = choices(current_app.config["LANGUAGES"].items())
        form.availability.choices = choices((a, AVAILABILITY_LABELS[a]) for a in AVAILABILITY)
        form.shift_days.choices = choices(day_names().items())

        departments = managed_departments(actor)
        form.departments.choices = choices(_department_choice(d) for d in departments)
        form.department_map = {d.id: d for d in departments}
        teams = list(db.session.scalars(select(Team).where(Team.department_id.in_(list(form.department_map)))
                                        .order_by(Team.name)))
        form.teams.choices = choices((t.id, t.label) for t in teams)
        form.team_map = {t.id: t for t in teams}
        # The page shows teams of the ticked departments (plus any ticked team, so it can be unticked).
        ticked_depts = set(form.departments.data or [])
        ticked_teams = set(form.teams.data or [])
        form.team_groups = [(d, [t for t in teams if t.department_id == d.id])
                            for d in departments if d.id in ticked_depts]
        strays = [t for t in teams if t.id in ticked_teams and t.department_id not in ticked_depts]
        if strays:
            form.team_groups.append((None, strays))
        return form

    def agent_data(self) -> AgentData:
        return AgentData(
            email=self.email.data or "", name=self.name.data or "", role=self.role.data,
            password=self.password.data or None,
            departments=[self.department_map[i] for i in self.departments.data or [] if i in self.department_map],
            teams=[self.team_map[i] for i in self.teams.data or [] if i in self.team_map],
            skills=self.skills.data or "", capacity=self.capacity.data, shift_start=self.shift_start.data,
            shift_end=self.shift_end.data, shift_days="".join(d for d in WEEKDAYS if d in (self.shift_days.data or [])),
            timezone=self.timezone.data, language=self.language.data, availability=self.availability.data)
