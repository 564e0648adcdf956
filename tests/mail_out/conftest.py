"""Email out: a shop with a mailbox; the SMTP server (`smtp_server`, aiosmtpd on loopback) is the suite's."""
from __future__ import annotations

import pytest

from factories import make_contact, make_department
from portal.extensions import db
from portal.models import Mailbox




@pytest.fixture
def shop(app):
    """Returns has a mailbox; Billing only a department address; Misc neither."""
    returns = make_department(name="Returns", email="returns-dept@shop.example")
    billing = make_department(name="Billing", email="billing@shop.example")
    misc = make_department(name="Misc")
    db.session.add(Mailbox(address="help@shop.example", name="Shop Help", department=returns))
    contact = make_contact(email="li.lei@example.com", name="Li Lei")
    db.session.commit()
    return {"returns": returns, "billing": billing, "misc": misc, "contact": contact}
