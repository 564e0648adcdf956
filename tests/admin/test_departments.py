"""Departments: admins create, edit, deactivate and (when they have no tickets) delete them."""
from sqlalchemy import func, select

from factories import login, make_ticket
from portal.extensions import db
from portal.models import Department, Team

from .conftest import errors_in, page, post


def department_count() -> int:
    return db.session.scalar(select(func.count(Department.id)))


def test_list_shows_names_address_and_counts(client, org):
    login(client, org.admin)
    html = page(client.get("/admin/departments"))
    assert "客服部" in html and "support@desk.example" in html
    # Support: Ann, Sue, Wendy; one team. The counts link to the filtered agents and teams pages.
    assert f'href="/admin/agents?department={org.support.id}">3<' in html
    assert f'href="/admin/teams?department={org.support.id}">1<' in html


def test_create_with_a_full_page_post(client, org):
    login(client, org.admin)
    response = post(client, "/admin/departments/new",
                    {"name": "  Returns ", "name_zh": "退换货", "email": "Returns@Shop.example"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/departments")
    dept = db.session.scalar(select(Department).filter_by(name="Returns"))
    assert (dept.name_zh, dept.email, dept.active) == ("退换货", "returns@shop.example", True)
    assert "Department “Returns” created" in page(client.get("/admin/departments"))


def test_create_with_htmx_redirects_by_header(client, org):
    login(client, org.admin)
    response = post(client, "/admin/departments/new", {"name": "Returns"}, htmx=True)
    assert response.status_code == 200
    assert response.headers["HX-Redirect"] == "/admin/departments"


def test_edit(client, org):
    login(client, org.admin)
    form = page(client.get(f"/admin/departments/{org.support.id}/edit"))
    assert 'value="Support"' in form and 'value="客服部"' in form
    response = post(client, f"/admin/departments/{org.support.id}/edit",
                    {"name": "Customer support", "name_zh": "", "email": ""})
    assert response.status_code == 302
    dept = db.session.get(Department, org.support.id)
    assert (dept.name, dept.name_zh, dept.email) == ("Customer support", None, None)


def test_keeping_its_own_name_is_not_a_duplicate(client, org):
    login(client, org.admin)
    response = post(client, f"/admin/departments/{org.support.id}/edit", {"name": "support", "name_zh": "客服"})
    assert response.status_code == 302


def test_duplicate_name_is_refused_on_the_field(client, org):
    login(client, org.admin)
    before = department_count()
    response = post(client, "/admin/departments/new", {"name": "BILLING", "email": "x@desk.example"})
    assert response.status_code == 422
    assert errors_in(response) == ["A department named “BILLING” already exists."]
    assert 'value="x@desk.example"' in page(response)  # what was typed stays
    assert department_count() == before


def test_duplicate_name_on_edit(client, org):
    login(client, org.admin)
    response = post(client, f"/admin/departments/{org.sales.id}/edit", {"name": "Billing"}, htmx=True)
    assert response.status_code == 422
    html = page(response)
    assert html.lstrip().startswith("<form")  # HTMX gets the form alone, to swap in place
    assert "A department named “Billing” already exists." in html
    assert db.session.get(Department, org.sales.id).name == "Sales"


def test_missing_name_and_bad_address(client, org):
    login(client, org.admin)
    before = department_count()
    response = post(client, "/admin/departments/new", {"name": "", "email": "not-an-address"})
    assert response.status_code == 422
    errors = errors_in(response)
    assert len(errors) == 2 and "This field is required." in errors and "Invalid email address." in errors
    assert department_count() == before


def test_deactivate_and_reactivate(client, org):
    login(client, org.admin)
    response = post(client, f"/admin/departments/{org.billing.id}/active", {"active": "0"})
    assert response.status_code == 302
    assert db.session.get(Department, org.billing.id).active is False
    assert "Inactive" in page(client.get("/admin/departments"))
    post(client, f"/admin/departments/{org.billing.id}/active", {"active": "1"})
    assert db.session.get(Department, org.billing.id).active is True


def test_delete_without_tickets(client, org):
    login(client, org.admin)
    html = page(client.get(f"/admin/departments/{org.billing.id}/edit"))
    assert "Delete department" in html
    billing_id, invoices_id = org.billing.id, org.invoices.id
    response = post(client, f"/admin/departments/{billing_id}/delete", htmx=True)
    assert response.headers["HX-Redirect"] == "/admin/departments"
    assert db.session.scalar(select(Department).filter_by(id=billing_id)) is None
    assert db.session.scalar(select(Team).filter_by(id=invoices_id)) is None
    assert [d.name for d in db.session.get(type(org.wide_agent), org.wide_agent.id).departments] == ["Support"]


def test_department_with_tickets_is_deactivated_not_deleted(client, org):
    make_ticket(department=org.billing)
    db.session.commit()
    login(client, org.admin)
    html = page(client.get(f"/admin/departments/{org.billing.id}/edit"))
    assert "It has 1 ticket, so it can't be deleted." in html and "Delete department" not in html
    response = post(client, f"/admin/departments/{org.billing.id}/delete")
    assert response.status_code == 422
    assert errors_in(response) == ["This department has tickets, so it can't be deleted. Deactivate it instead."]
    response = post(client, f"/admin/departments/{org.billing.id}/delete", htmx=True)
    assert response.status_code == 422 and "Deactivate it instead" in page(response)
    assert db.session.get(Department, org.billing.id) is not None


def test_empty_state(client, app):
    from factories import make_admin
    admin = make_admin()
    db.session.commit()
    login(client, admin)
    html = page(client.get("/admin/departments"))
    assert "No departments yet" in html and "Create the first department" in html
    assert "Start with a department" in page(client.get("/admin/"))
