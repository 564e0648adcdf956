"""Who may open which admin page: agents never, supervisors within their departments, admins all."""
import pytest

from factories import login
from portal.extensions import db
from portal.models import Department, User

from .conftest import page, post

ADMIN_PAGES = ["/admin/", "/admin/departments", "/admin/departments/new", "/admin/teams", "/admin/teams/new",
               "/admin/agents", "/admin/agents/new"]


def test_signed_out_goes_to_login(client, org):
    response = client.get("/admin/agents")
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_agent_gets_403_everywhere(client, org, url):
    login(client, org.agent)
    response = client.get(url)
    assert response.status_code == 403
    assert "Not allowed" in page(response)


def test_agent_cannot_post_either(client, org):
    login(client, org.agent)
    assert post(client, "/admin/departments/new", {"name": "Mine"}).status_code == 403
    assert post(client, f"/admin/agents/{org.agent.id}/edit", {"role": "admin"}).status_code == 403
    assert post(client, f"/admin/agents/{org.agent.id}/active", {"active": "0"}).status_code == 403
    assert db.session.scalar(db.select(Department).filter_by(name="Mine")) is None
    assert db.session.get(User, org.agent.id).role == "agent"


def test_agent_sees_no_admin_link(client, org):
    login(client, org.agent)
    assert "/admin/" not in page(client.get("/tickets"))


@pytest.mark.parametrize("url", ADMIN_PAGES)
def test_admin_opens_everything(client, org, url):
    login(client, org.admin)
    assert client.get(url).status_code == 200


def test_supervisor_pages(client, org):
    login(client, org.supervisor)
    for url in ("/admin/", "/admin/departments", "/admin/teams", "/admin/teams/new", "/admin/agents",
                "/admin/agents/new"):
        assert client.get(url).status_code == 200, url


def test_supervisor_sees_departments_read_only(client, org):
    login(client, org.supervisor)
    html = page(client.get("/admin/departments"))
    assert "Support" in html and "Billing" not in html and "Sales" not in html
    assert "/admin/departments/new" not in html
    assert f"/admin/departments/{org.support.id}/edit" not in html
    assert client.get("/admin/departments/new").status_code == 403
    assert client.get(f"/admin/departments/{org.support.id}/edit").status_code == 403
    assert client.get(f"/admin/departments/{org.billing.id}/edit").status_code == 404
    assert post(client, f"/admin/departments/{org.support.id}/edit", {"name": "Renamed"}).status_code == 403
    assert post(client, f"/admin/departments/{org.support.id}/active", {"active": "0"}).status_code == 403
    assert post(client, f"/admin/departments/{org.billing.id}/delete").status_code == 404
    support = db.session.get(Department, org.support.id)
    assert support.name == "Support" and support.active


def test_supervisor_teams_scope(client, org):
    login(client, org.supervisor)
    html = page(client.get("/admin/teams"))
    assert "Refunds" in html and "Invoices" not in html
    assert client.get(f"/admin/teams/{org.refunds.id}/edit").status_code == 200
    assert client.get(f"/admin/teams/{org.invoices.id}/edit").status_code == 404
    assert post(client, f"/admin/teams/{org.invoices.id}/edit", {"name": "X"}).status_code == 404
    assert post(client, f"/admin/teams/{org.invoices.id}/delete").status_code == 404
    assert client.get(f"/admin/teams?department={org.billing.id}").status_code == 404
    assert client.get(f"/admin/teams/new?department={org.billing.id}").status_code == 404
    assert client.get("/admin/teams/987654/edit").status_code == 404


def test_supervisor_agents_scope(client, org):
    login(client, org.supervisor)
    html = page(client.get("/admin/agents"))
    assert "Ann Agent" in html and "Wendy Wide" in html and "Sue Supervisor" in html
    assert "Bill Agent" not in html and "Bob Boss" not in html and "Ada Admin" not in html
    assert f"/admin/agents/{org.agent.id}/edit" in html
    assert f"/admin/agents/{org.wide_agent.id}/edit" not in html  # also works in Billing
    assert client.get(f"/admin/agents/{org.agent.id}/edit").status_code == 200
    assert client.get(f"/admin/agents/{org.billing_agent.id}/edit").status_code == 404
    assert client.get(f"/admin/agents/{org.admin.id}/edit").status_code == 404
    assert client.get(f"/admin/agents/{org.wide_agent.id}/edit").status_code == 403
    assert client.get(f"/admin/agents/{org.supervisor.id}/edit").status_code == 403  # not even themselves
    assert post(client, f"/admin/agents/{org.billing_agent.id}/active", {"active": "0"}).status_code == 404
    assert post(client, f"/admin/agents/{org.wide_agent.id}/active", {"active": "0"}).status_code == 403
    assert client.get(f"/admin/agents?department={org.billing.id}").status_code == 404
    assert db.session.get(User, org.billing_agent.id).active and db.session.get(User, org.wide_agent.id).active


def test_admin_sees_all(client, org):
    login(client, org.admin)
    html = page(client.get("/admin/agents"))
    for person in (org.agent, org.billing_agent, org.wide_agent, org.supervisor, org.billing_supervisor):
        assert f"/admin/agents/{person.id}/edit" in html
    html = page(client.get("/admin/teams"))
    assert "Refunds" in html and "Invoices" in html
    html = page(client.get("/admin/departments"))
    assert all(name in html for name in ("Support", "Billing", "Sales", "客服部", "support@desk.example"))


def test_overview_counts(app, client, org):
    login(client, org.supervisor)
    html = page(client.get("/admin/"))
    assert "1 department" in html and "1 team" in html and "3 active people" in html
    other = app.test_client()
    login(other, org.admin)
    html = page(other.get("/admin/"))
    assert "3 departments" in html and "2 teams" in html and "6 active people" in html


def test_supervisor_without_departments_gets_empty_states(client, app):
    from factories import make_agent
    lonely = make_agent(role="supervisor")
    db.session.commit()
    login(client, lonely)
    assert "You don't manage any department yet" in page(client.get("/admin/"))
    assert "You don't manage any department yet" in page(client.get("/admin/teams"))
    html = page(client.get("/admin/agents"))
    assert "No agents yet" in html


def test_supervisor_sees_the_admin_link(client, org):
    login(client, org.supervisor)
    assert 'href="/admin/"' in page(client.get("/tickets"))
