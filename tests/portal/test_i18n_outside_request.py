"""Services run outside requests too (RQ workers, CLI, the rule engine): their messages must render there."""
import pytest

from factories import make_department
from portal.services.errors import ValidationFailed
from portal.services.tickets import create_ticket


def test_validation_failed_outside_a_request(app):
    with pytest.raises(ValidationFailed) as exc:
        create_ticket(subject="", department=make_department(), body="x")
    assert "subject" in str(exc.value)
