"""Teams: per department; admins and the department's supervisors create and change them."""
from sqlalchemy import func, select

from factories import login, make_agent, make_ticket
from portal.extensions import db
from portal.models import Team

from .conftest import errors_in, page, post


def team_count() -> int:
    return db.session.scalar(select(func.count(Team.id)))


def test_list_per_department_with_filter(client, org):
    login(client, org.admin)
    html = page(client.get("/admin/teams"))
    html = html[html.index('id="team-groups"'):]
    assert (html.index("<h2>Billing") < html.index(">Invoices</a>") < html.index("<h2>Sales")
            < html.index("<h2>Support") < html.index(">Refunds</a>"))
    assert "No teams in Sales yet" in html
    html = page(client.get(f"/admin/teams?department={org.billing.id}"))
    assert "Invoices" in html and "Refunds" not in html
    fragment = page(client.get(f"/admin/teams?department={org.billing.id}",
                               headers={"HX-Request": "true", "HX-Target": "team-groups"}))
    assert fragment.lstrip().startswith('<div id="team-groups"') and "Invoices" in fragment


def test_member_choices_are_the_departments_people(client, org):
    login(client, org.admin)
    html = page(client.get(f"/admin/teams/new?department={org.support.id}"))
    assert "Ann Agent" in html and "Wendy Wide" in html and "Sue Supervisor" in html
    assert "Bill Agent" not in html


def test_admin_creates_a_team(client, org):
    login(client, org.admin)
    response = post(client, "/admin/teams/new", {"name": "VIP", "name_zh": "贵宾", "department": org.support.id,
                                                 "members": [org.agent.id, org.wide_agent.id]})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/admin/teams?department={org.support.id}")
    team = db.session.scalar(select(Team).filter_by(name="VIP"))
    assert (team.name_zh, team.department_id) == ("贵宾", org.support.id)
    assert {u.name for u in team.members} == {"Ann Agent", "Wendy Wide"}


def test_supervisor_creates_and_edits_in_their_department(client, org):
    login(client, org.supervisor)
    response = post(client, "/admin/teams/new", {"name": "Night", "department": org.support.id,
                                                 "members": [org.agent.id]}, htmx=True)
    assert response.status_code == 200 and "HX-Redirect" in response.headers
    team = db.session.scalar(select(Team).filter_by(name="Night"))
    response = post(client, f"/admin/teams/{team.id}/edit", {"name": "Night shift", "department": org.support.id})
    assert response.status_code == 302
    team = db.session.get(Team, team.id)
    assert team.name == "Night shift" and team.members == []


def test_supervisor_cannot_use_another_department(client, org):
    login(client, org.supervisor)
    before = team_count()
    response = post(client, "/admin/teams/new", {"name": "Sneaky", "department": org.billing.id})
    assert response.status_code == 422
    assert errors_in(response) == ["Not a valid choice."]
    response = post(client, f"/admin/teams/{org.refunds.id}/edit", {"name": "Refunds", "department": org.billing.id})
    assert response.status_code == 422
    assert team_count() == before
    assert db.session.get(Team, org.refunds.id).department_id == org.support.id


def test_duplicate_name_in_the_department(client, org):
    login(client, org.admin)
    before = team_count()
    response = post(client, "/admin/teams/new", {"name": "refunds", "department": org.support.id,
                                                 "members": [org.agent.id]})
    assert response.status_code == 422
    assert errors_in(response) == ["Support already has a team named “refunds”."]
    assert team_count() == before
    # The same name in another department is fine.
    assert post(client, "/admin/teams/new", {"name": "Refunds", "department": org.billing.id}).status_code == 302


def test_duplicate_name_on_edit(client, org):
    login(client, org.admin)
    other = post(client, "/admin/teams/new", {"name": "Other", "department": org.support.id})
    assert other.status_code == 302
    team = db.session.scalar(select(Team).filter_by(name="Other"))
    response = post(client, f"/admin/teams/{team.id}/edit", {"name": "REFUNDS", "department": org.support.id},
                    htmx=True)
    assert response.status_code == 422 and page(response).lstrip().startswith("<form")
    assert db.session.get(Team, team.id).name == "Other"


def test_members_must_work_in_the_department(client, org):
    login(client, org.admin)
    before = team_count()
    response = post(client, "/admin/teams/new", {"name": "Mixed", "department": org.support.id,
                                                 "members": [org.agent.id, org.billing_agent.id]})
    assert response.status_code == 422
    assert errors_in(response) == ["Not in Support: Bill Agent. Add them to the department first."]
    assert team_count() == before


def test_missing_name(client, org):
    login(client, org.admin)
    response = post(client, "/admin/teams/new", {"name": " ", "department": org.support.id})
    assert response.status_code == 422 and errors_in(response) == ["This field is required."]


def test_changing_department_refreshes_members_without_saving(client, org):
    login(client, org.admin)
    before = team_count()
    response = post(client, "/admin/teams/new", {"name": "", "department": org.billing.id, "refresh": "1"},
                    htmx=True)
    assert response.status_code == 200
    html = page(response)
    assert errors_in(response) == []
    assert 'id="team-members"' in html and "Bill Agent" in html and "Ann Agent" not in html
    assert team_count() == before


def test_team_with_tickets_keeps_its_department(client, org):
    make_ticket(department=org.support, team=org.refunds)
    db.session.commit()
    login(client, org.admin)
    response = post(client, f"/admin/teams/{org.refunds.id}/edit", {"name": "Refunds", "department": org.billing.id})
    assert response.status_code == 422
    assert errors_in(response) == ["This team has tickets, so it stays in its department. "
                                   "Create a new team in the other department instead."]
    assert db.session.get(Team, org.refunds.id).department_id == org.support.id


def test_move_a_team_without_tickets(client, org):
    login(client, org.admin)
    response = post(client, f"/admin/teams/{org.invoices.id}/edit", {"name": "Invoices", "department": org.sales.id})
    assert response.status_code == 302
    assert db.session.get(Team, org.invoices.id).department_id == org.sales.id


def test_delete(client, org):
    login(client, org.supervisor)
    refunds_id = org.refunds.id
    response = post(client, f"/admin/teams/{refunds_id}/delete")
    assert response.status_code == 302
    assert db.session.scalar(select(Team).filter_by(id=refunds_id)) is None
    assert "Team “Refunds” deleted." in page(client.get("/admin/teams"))


def test_delete_refused_with_tickets(client, org):
    make_ticket(department=org.support, team=org.refunds)
    db.session.commit()
    login(client, org.admin)
    assert "so it can't be deleted" in page(client.get(f"/admin/teams/{org.refunds.id}/edit"))
    response = post(client, f"/admin/teams/{org.refunds.id}/delete")
    assert response.status_code == 422
    assert db.session.get(Team, org.refunds.id) is not None


def test_inactive_members_are_kept_but_not_offered(client, org):
    gone = make_agent(departments=[org.support], name="Gone Person", active=False)
    db.session.commit()
    login(client, org.admin)
    assert "Gone Person" not in page(client.get(f"/admin/teams/{org.refunds.id}/edit"))
    org.refunds.members.append(gone)
    db.session.commit()
    assert "Gone Person (inactive)" in page(client.get(f"/admin/teams/{org.refunds.id}/edit"))


def test_refresh_without_javascript_renders_the_whole_page(client, org):
    login(client, org.admin)
    response = post(client, "/admin/teams/new", {"name": "Kept", "department": org.billing.id, "refresh": "1"})
    assert response.status_code == 200
    html = page(response)
    assert html.startswith("<!doctype html>") and 'value="Kept"' in html and "Bill Agent" in html
    assert db.session.scalar(select(Team).filter_by(name="Kept")) is None


def test_inactive_department_takes_no_new_teams(client, org):
    org.sales.active = False
    db.session.commit()
    login(client, org.admin)
    html = page(client.get("/admin/teams"))
    assert f"/admin/teams/new?department={org.sales.id}" not in html
    response = post(client, "/admin/teams/new", {"name": "Late", "department": org.sales.id})
    assert response.status_code == 422 and errors_in(response) == ["Not a valid choice."]
