"""A small desk for saved-view tests: Returns and Billing, an agent, a supervisor and an admin."""
from __future__ import annotations

import pytest

from factories import make_agent, make_contact, make_department, make_ticket
from portal.extensions import db


@pytest.fixture
def desk(app):
    returns, billing = make_department(name="Returns"), make_department(name="Billing")
    ann = make_agent(departments=[returns], name="Ann Agent")
    amy = make_agent(departments=[returns], name="Amy Agent")
    bob = make_agent(departments=[billing], name="Bob Billing")
    sue = make_agent(departments=[returns], role="supervisor", name="Sue Supervisor")
    sam = make_agent(departments=[billing], role="supervisor", name="Sam Supervisor")
    root = make_agent(role="admin", name="Ada Admin")
    vip = make_contact(tier="vip")
    tickets = {
        "r_high_refund": make_ticket(department=returns, priority="high", tags=["refund"], contact=vip,
                                     subject="Refund for a broken vase"),
        "r_high": make_ticket(department=returns, priority="high", subject="Courier lost parcel"),
        "r_low_refund": make_ticket(department=returns, priority="low", tags=["refund"], subject="Refund question"),
        "r_mine": make_ticket(department=returns, priority="urgent", assignee=ann, subject="Ann's urgent one"),
        "r_solved": make_ticket(department=returns, priority="high", status="solved", subject="Old solved one"),
        "b_high_refund": make_ticket(department=billing, priority="high", tags=["refund"], contact=vip,
                                     subject="Billing refund secret"),
    }
    db.session.commit()
    return dict(returns=returns, billing=billing, ann=ann, amy=amy, bob=bob, sue=sue, sam=sam, root=root,
                t=tickets)
