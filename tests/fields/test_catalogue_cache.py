"""The custom-field catalogue is read once per transaction: a flush keeps it, the end of the
transaction (or of a savepoint) drops it, and so does a change to a field's definition."""
import pytest
from sqlalchemy import event

from factories import make_contact, make_field
from portal.extensions import db
from portal.fields.catalogue import custom_field_specs

pytestmark = pytest.mark.integration


@pytest.fixture
def reads(app):
    seen = []

    def note(_conn, _cursor, statement, *_):
        if "FROM custom_fields LEFT OUTER JOIN field_department_options" in " ".join(statement.split()):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", note)
    yield seen
    event.remove(db.engine, "before_cursor_execute", note)


def test_a_flush_keeps_the_catalogue_and_the_transactions_end_drops_it(app, reads):
    make_field("order_number", "text")
    db.session.commit()
    assert [s.key for s in custom_field_specs()] == ["order_number"] and len(reads) == 1
    make_contact()
    db.session.flush()
    custom_field_specs()
    assert len(reads) == 1  # the flush ended a subtransaction, not the transaction
    db.session.commit()
    custom_field_specs()
    assert len(reads) == 2
    with db.session.begin_nested():
        custom_field_specs()
    custom_field_specs()
    assert len(reads) == 3  # the savepoint's end dropped it


def test_a_new_field_shows_in_the_same_transaction(app, reads):
    custom_field_specs()
    make_field("refund_amount", "currency", currency="CNY")
    assert "refund_amount" in [s.key for s in custom_field_specs()]
