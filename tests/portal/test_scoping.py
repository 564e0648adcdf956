"""Who sees which tickets: one scope, used by every ticket query and route."""
import pytest
from werkzeug.exceptions import NotFound

from factories import make_admin, make_agent, make_department, make_ticket
from portal.extensions import db
from portal.services import scoping

pytestmark = pytest.mark.integration


@pytest.fixture
def desk(app):
    sales, support, billing = make_department(name="Sales"), make_department(name="Support"), make_department(
        name="Billing")
    tickets = {name: make_ticket(department=dept, subject=f"{name} ticket")
               for name, dept in (("sales", sales), ("support", support), ("billing", billing))}
    db.session.commit()
    return {"sales": sales, "support": support, "billing": billing, "tickets": tickets}


def visible_subjects(user) -> set[str]:
    return {t.subject for t in db.session.scalars(scoping.visible_tickets(user))}


def test_agent_sees_only_their_departments(desk):
    agent = make_agent(departments=[desk["sales"], desk["support"]])
    assert visible_subjects(agent) == {"sales ticket", "support ticket"}
    assert scoping.can_see_ticket(agent, desk["tickets"]["sales"])
    assert not scoping.can_see_ticket(agent, desk["tickets"]["billing"])


def test_supervisor_is_scoped_like_an_agent(desk):
    supervisor = make_agent(departments=[desk["billing"]], role="supervisor")
    assert visible_subjects(supervisor) == {"billing ticket"}


def test_agent_without_departments_sees_nothing(desk):
    assert visible_subjects(make_agent()) == set()


def test_admin_sees_everything(desk):
    assert visible_subjects(make_admin()) == {"sales ticket", "support ticket", "billing ticket"}
    assert scoping.departments_for(make_admin()) == sorted(
        [desk["sales"], desk["support"], desk["billing"]], key=lambda d: d.name)


def test_get_ticket_or_404(desk):
    agent = make_agent(departments=[desk["sales"]])
    own = desk["tickets"]["sales"]
    assert scoping.get_ticket_or_404(agent, own.id) is own
    with pytest.raises(NotFound):  # forbidden answers like unknown: subjects never leak
        scoping.get_ticket_or_404(agent, desk["tickets"]["billing"].id)
    with pytest.raises(NotFound):
        scoping.get_ticket_or_404(agent, 987654)
    assert scoping.get_ticket_or_404(make_admin(), desk["tickets"]["billing"].id).subject == "billing ticket"


def test_scope_follows_department_membership_changes(desk):
    agent = make_agent(departments=[desk["sales"]])
    assert visible_subjects(agent) == {"sales ticket"}
    agent.departments = [desk["billing"]]
    db.session.flush()
    assert visible_subjects(agent) == {"billing ticket"}


def test_managing(desk):
    admin = make_admin()
    supervisor = make_agent(departments=[desk["sales"], desk["support"]], role="supervisor")
    agent = make_agent(departments=[desk["sales"]])
    wide_agent = make_agent(departments=[desk["sales"], desk["billing"]])
    assert scoping.managed_departments(agent) == []
    assert {d.name for d in scoping.managed_departments(supervisor)} == {"Sales", "Support"}
    assert scoping.can_manage_department(supervisor, desk["sales"].id)
    assert not scoping.can_manage_department(supervisor, desk["billing"].id)
    assert scoping.can_manage_user(supervisor, agent)
    assert not scoping.can_manage_user(supervisor, wide_agent)  # also works where they don't manage
    assert not scoping.can_manage_user(supervisor, admin)
    assert not scoping.can_manage_user(agent, agent)
    assert scoping.can_manage_user(admin, supervisor)
