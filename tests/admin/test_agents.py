"""Agents: roles, departments, teams, skills, capacity, shift and time zone; deactivation, never deletion."""
from datetime import time

import pytest
from sqlalchemy import func, select

from factories import PASSWORD, login, make_agent
from portal.extensions import db
from portal.models import Skill, User
from portal.services.accounts import check_password

from .conftest import errors_in, page, post


def user_count() -> int:
    return db.session.scalar(select(func.count(User.id)))


def by_email(email: str) -> User | None:
    return db.session.scalar(select(User).filter_by(email=email))


def form(org, **overrides) -> dict:
    data = {"email": "new@desk.example", "name": "Nia New", "role": "agent", "password": "long-enough-1",
            "departments": [org.support.id], "teams": [org.refunds.id], "skills": "billing, 退款、VIP",
            "capacity": "12", "shift_start": "09:00", "shift_end": "18:00", "shift_days": list("12345"),
            "timezone": "Asia/Shanghai", "language": "zh_Hans", "availability": "available"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_list_shows_everything_about_an_agent(client, org):
    rita = make_agent(departments=[org.support], teams=[org.refunds], name="Rita Ramos", capacity=25,
                      shift_start=time(9), shift_end=time(18), shift_days="12345", timezone="Asia/Shanghai",
                      availability="away")
    rita.skills = [Skill(name="refunds")]
    db.session.commit()
    login(client, org.admin)
    html = page(client.get("/admin/agents"))
    row = html[html.index("Rita Ramos"):]
    row = row[:row.index("</tr>")]
    for text in ("Agent", "Support", "Refunds", ">refunds<", ">25<", "09:00–18:00 Mon–Fri, Asia/Shanghai", "Away",
                 "Active"):
        assert text in row, text
    assert "No shift set" in html  # the others


def test_filter_by_department_status_and_text(client, org):
    org.billing_agent.active = False
    db.session.commit()
    login(client, org.admin)
    html = page(client.get(f"/admin/agents?department={org.billing.id}"))
    assert "Bill Agent" in html and "Wendy Wide" in html and "Ann Agent" not in html
    html = page(client.get("/admin/agents?status=inactive"))
    assert "Bill Agent" in html and "Ann Agent" not in html
    html = page(client.get("/admin/agents?q=WENDY"))
    assert "Wendy Wide" in html and "Ann Agent" not in html
    fragment = page(client.get("/admin/agents?q=nobody-at-all", headers={"HX-Request": "true",
                                                                       "HX-Target": "agent-results"}))
    assert fragment.lstrip().startswith('<div id="agent-results"') and "No one matches these filters" in fragment


def test_admin_creates_an_agent(client, org):
    db.session.add(Skill(name="Billing"))  # an existing skill is reused, matched ignoring case
    db.session.commit()
    login(client, org.admin)
    response = post(client, "/admin/agents/new", form(org, email="Nia@Desk.example"))
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/agents")
    nia = by_email("nia@desk.example")
    assert (nia.name, nia.role, nia.capacity, nia.timezone, nia.language, nia.availability, nia.active) == (
        "Nia New", "agent", 12, "Asia/Shanghai", "zh_Hans", "available", True)
    assert (nia.shift_start, nia.shift_end, nia.shift_days) == (time(9), time(18), "12345")
    assert [d.name for d in nia.departments] == ["Support"] and [t.name for t in nia.teams] == ["Refunds"]
    assert [s.name for s in nia.skills] == ["Billing", "VIP", "退款"]
    assert db.session.scalar(select(func.count(Skill.id))) == 3
    assert check_password(nia, "long-enough-1")
    assert "Nia New can now sign in as nia@desk.example." in page(client.get("/admin/agents"))


def test_create_with_htmx(client, org):
    login(client, org.admin)
    response = post(client, "/admin/agents/new", form(org), htmx=True)
    assert response.status_code == 200 and response.headers["HX-Redirect"] == "/admin/agents"
    assert by_email("new@desk.example") is not None


def test_no_shift_and_no_skills(client, org):
    login(client, org.admin)
    response = post(client, "/admin/agents/new", form(org, shift_start="", shift_end="", shift_days=[], skills="",
                                                      teams=[]))
    assert response.status_code == 302
    nia = by_email("new@desk.example")
    assert (nia.shift_start, nia.shift_end, nia.shift_days, nia.skills, nia.teams) == (None, None, "", [], [])


def test_overnight_shift_is_fine(client, org):
    login(client, org.admin)
    assert post(client, "/admin/agents/new", form(org, shift_start="22:00", shift_end="06:00",
                                                  shift_days=["6", "7"])).status_code == 302
    assert by_email("new@desk.example").shift_days == "67"


def test_edit_keeps_the_password_unless_a_new_one_is_given(client, org):
    login(client, org.admin)
    html = page(client.get(f"/admin/agents/{org.agent.id}/edit"))
    assert 'value="ann@desk.example"' in html and "New password" in html
    data = form(org, email="ann@desk.example", name="Ann Agent-Smith", password="", capacity="40",
                role="supervisor", skills="chat")
    response = post(client, f"/admin/agents/{org.agent.id}/edit", data)
    assert response.status_code == 302
    ann = db.session.get(User, org.agent.id)
    assert (ann.name, ann.capacity, ann.role, [s.name for s in ann.skills]) == ("Ann Agent-Smith", 40,
                                                                                "supervisor", ["chat"])
    assert check_password(ann, PASSWORD)
    post(client, f"/admin/agents/{org.agent.id}/edit", {**data, "password": "a-new-password"})
    assert check_password(db.session.get(User, org.agent.id), "a-new-password")


def test_edit_untick_everything(client, org):
    """Unticked checkboxes send nothing; that must clear teams and days, not keep the old ones."""
    login(client, org.admin)
    data = form(org, email="ann@desk.example", password="", teams=None, shift_days=None, shift_start="",
                shift_end="", skills="")
    assert post(client, f"/admin/agents/{org.agent.id}/edit", data).status_code == 302
    ann = db.session.get(User, org.agent.id)
    assert (ann.teams, ann.shift_days, ann.skills) == ([], "", [])


@pytest.mark.parametrize("overrides, field_errors", [
    ({"email": "ANN@desk.example"}, ["Someone already signs in with ann@desk.example."]),
    ({"email": "not-an-email"}, ["Invalid email address."]),
    ({"name": ""}, ["This field is required."]),
    ({"password": ""}, ["Set a password."]),
    ({"password": "short"}, ["Use 8 to 200 characters."]),
    ({"timezone": "Mars/Olympus_Mons"}, ["Unknown time zone."]),
    ({"shift_end": "09:00"}, ["The shift must end at a different time than it starts."]),
    ({"shift_end": ""}, ["Set when the shift ends too (or clear the start)."]),
    ({"shift_start": ""}, ["Set when the shift starts too (or clear the end)."]),
    ({"shift_start": "25:00"}, ["Not a valid time value."]),
    ({"shift_days": None}, ["Choose at least one working day."]),
    ({"capacity": "0"}, ["Between 1 and 500 open tickets."]),
    ({"capacity": "501"}, ["Between 1 and 500 open tickets."]),
    ({"capacity": "lots"}, ["Not a valid integer value."]),
    ({"capacity": ""}, ["Enter a number of tickets."]),
    ({"departments": None, "teams": None}, ["Choose at least one department."]),
    ({"teams": ["invoices"]}, ["Invoices (Billing): the agent isn't in that department. "
                                          "Tick the department too, or untick the team."]),
    ({"skills": "x" * 81}, ["A skill can have at most 80 characters."]),
    ({"role": "owner"}, ["Not a valid choice."]),
])
def test_each_invalid_field_is_refused_and_nothing_saved(client, org, overrides, field_errors):
    if overrides.get("teams") == ["invoices"]:
        overrides = {**overrides, "teams": [org.invoices.id]}
    login(client, org.admin)
    before = (user_count(), db.session.scalar(select(func.count(Skill.id))))
    response = post(client, "/admin/agents/new", form(org, **overrides))
    assert response.status_code == 422
    assert errors_in(response) == field_errors
    assert (user_count(), db.session.scalar(select(func.count(Skill.id)))) == before


def test_all_problems_show_at_once(client, org):
    """A form error (capacity) doesn't hide what only the service knows (a taken email, a stray team)."""
    login(client, org.admin)
    response = post(client, "/admin/agents/new", form(org, email="bill@desk.example", capacity="900",
                                                      shift_end="09:00", teams=[org.invoices.id]), htmx=True)
    assert response.status_code == 422
    html = page(response)
    assert html.lstrip().startswith('<form id="agent-form"')
    assert set(errors_in(response)) == {
        "Someone already signs in with bill@desk.example.", "Between 1 and 500 open tickets.",
        "The shift must end at a different time than it starts.",
        "Invoices (Billing): the agent isn't in that department. Tick the department too, or untick the team."}
    assert 'value="bill@desk.example"' in html and 'value="900"' in html  # what was typed stays
    assert by_email("new@desk.example") is None


def test_invalid_edit_changes_nothing(client, org):
    login(client, org.admin)
    data = form(org, email="ann@desk.example", name="Changed", password="", teams=[org.invoices.id])
    response = post(client, f"/admin/agents/{org.agent.id}/edit", data)
    assert response.status_code == 422
    ann = db.session.get(User, org.agent.id)
    assert ann.name == "Ann Agent" and [t.name for t in ann.teams] == ["Refunds"]


def test_department_change_refreshes_the_team_list(client, org):
    login(client, org.admin)
    response = post(client, "/admin/agents/new", form(org, departments=[org.billing.id], teams=None,
                                                      refresh="1", email=""), htmx=True)
    assert response.status_code == 200 and errors_in(response) == []
    html = page(response)
    teams = html[html.index('id="agent-teams"'):]
    teams = teams[:teams.index("</fieldset>")]
    assert "Invoices" in teams and "Refunds" not in teams
    assert by_email("new@desk.example") is None


class TestSupervisor:
    def test_creates_an_agent_in_their_department(self, client, org):
        login(client, org.supervisor)
        html = page(client.get("/admin/agents/new"))
        assert 'value="supervisor"' not in html and 'value="admin"' not in html
        assert f'name="departments" value="{org.support.id}" checked' in html  # their only department
        assert post(client, "/admin/agents/new", form(org)).status_code == 302
        assert by_email("new@desk.example").role == "agent"

    @pytest.mark.parametrize("role", ["supervisor", "admin"])
    def test_cannot_create_supervisors_or_admins(self, client, org, role):
        login(client, org.supervisor)
        response = post(client, "/admin/agents/new", form(org, role=role))
        assert response.status_code == 422 and errors_in(response) == ["Not a valid choice."]
        assert by_email("new@desk.example") is None

    def test_cannot_grant_a_department_they_dont_manage(self, client, org):
        login(client, org.supervisor)
        response = post(client, "/admin/agents/new", form(org, departments=[org.support.id, org.billing.id]))
        assert response.status_code == 422
        assert errors_in(response) == [f"'{org.billing.id}' is not a valid choice for this field."]
        response = post(client, f"/admin/agents/{org.agent.id}/edit",
                        form(org, email="ann@desk.example", password="", departments=[org.billing.id], teams=None))
        assert response.status_code == 422
        assert [d.name for d in db.session.get(User, org.agent.id).departments] == ["Support"]

    def test_edits_and_deactivates_their_agent(self, client, org):
        login(client, org.supervisor)
        data = form(org, email="ann@desk.example", password="", capacity="30")
        assert post(client, f"/admin/agents/{org.agent.id}/edit", data).status_code == 302
        assert db.session.get(User, org.agent.id).capacity == 30
        response = post(client, f"/admin/agents/{org.agent.id}/active", {"active": "0"})
        assert response.status_code == 302
        assert db.session.get(User, org.agent.id).active is False

    def test_cannot_promote_an_agent(self, client, org):
        login(client, org.supervisor)
        response = post(client, f"/admin/agents/{org.agent.id}/edit",
                        form(org, email="ann@desk.example", password="", role="admin"))
        assert response.status_code == 422
        assert db.session.get(User, org.agent.id).role == "agent"


def test_deactivate_and_reactivate(client, org):
    login(client, org.admin)
    assert post(client, f"/admin/agents/{org.agent.id}/active", {"active": "0"}).status_code == 302
    ann = db.session.get(User, org.agent.id)
    assert ann.active is False and db.session.get(User, org.agent.id) is not None
    assert "Ann Agent is deactivated" in page(client.get("/admin/agents"))
    other = client.application.test_client()
    login(other, ann, expect=401)  # deactivated people can't sign in
    assert post(client, f"/admin/agents/{org.agent.id}/active", {"active": "1"}).status_code == 302
    assert db.session.get(User, org.agent.id).active is True


class TestLastAdmin:
    def admin_form(self, org, **overrides):
        return form(org, **{"email": "ada@desk.example", "name": "Ada Admin", "password": "", "departments": [],
                            "teams": None, **overrides})

    def test_admin_without_departments_is_fine(self, client, org):
        login(client, org.admin)
        assert post(client, f"/admin/agents/{org.admin.id}/edit", self.admin_form(org, role="admin")).status_code == 302

    def test_cannot_demote_themselves(self, client, org):
        login(client, org.admin)
        response = post(client, f"/admin/agents/{org.admin.id}/edit",
                        self.admin_form(org, role="supervisor", departments=[org.support.id]))
        assert response.status_code == 422
        assert errors_in(response) == ["You are the last active admin. Make someone else an admin first."]
        assert db.session.get(User, org.admin.id).role == "admin"

    def test_cannot_deactivate_themselves(self, client, org):
        login(client, org.admin)
        html = page(client.get(f"/admin/agents/{org.admin.id}/edit"))
        assert "This is the last active admin" in html and "Deactivate Ada Admin" not in html
        response = post(client, f"/admin/agents/{org.admin.id}/active", {"active": "0"})
        assert response.status_code == 422
        assert errors_in(response) == ["You are the last active admin, so you can't deactivate yourself. "
                                       "Make someone else an admin first."]
        assert db.session.get(User, org.admin.id).active is True

    def test_a_deactivated_admin_does_not_count(self, client, org):
        make_agent(role="admin", active=False)
        db.session.commit()
        login(client, org.admin)
        assert post(client, f"/admin/agents/{org.admin.id}/active", {"active": "0"}).status_code == 422

    def test_with_another_active_admin_it_is_allowed(self, client, org):
        make_agent(role="admin", name="Second Admin")
        db.session.commit()
        login(client, org.admin)
        response = post(client, f"/admin/agents/{org.admin.id}/edit",
                        self.admin_form(org, role="agent", departments=[org.support.id]))
        assert response.status_code == 302
        assert db.session.get(User, org.admin.id).role == "agent"


def test_chinese_screen(client, org):
    org.admin.language = "zh_Hans"
    org.agent.shift_start, org.agent.shift_end, org.agent.shift_days = time(9), time(18), "12345"
    db.session.commit()
    login(client, org.admin)
    html = page(client.get("/admin/agents"))
    assert "09:00–18:00 周一–周五, UTC" in html and "客服部" in html
    assert "周六" in page(client.get(f"/admin/agents/{org.agent.id}/edit"))
