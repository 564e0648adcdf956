"""Export downloads the rules as JSON; import takes them back all or nothing, naming the rule and row."""
import io
import json

import pytest

from factories import login
from portal.extensions import db
from rule_builder.models import Rule

from .conftest import page, post, revision_count, rule_count

pytestmark = pytest.mark.integration


def upload(client, document, name="rules.json"):
    body = document if isinstance(document, bytes) else json.dumps(document, ensure_ascii=False).encode()
    return post(client, "/admin/rules/import", {"file": (io.BytesIO(body), name)},
                content_type="multipart/form-data")


def test_export_then_import_round_trip(client, org):
    login(client, org.admin)
    document = client.get("/admin/rules/export").get_json()
    document["rules"][0]["name"] = "VIP to senior (copy)"
    document["rules"][1]["description"] = "Changed"
    response = upload(client, document)
    assert response.status_code == 302
    assert "Imported: 1 new, 1 updated, 1 unchanged." in page(client.get("/admin/rules"))
    copy = db.session.query(Rule).filter_by(name="VIP to senior (copy)").one()
    assert copy.condition == org.support_rule.condition


def test_import_refuses_bad_rows_and_imports_nothing(client, org):
    login(client, org.admin)
    before, revisions = rule_count(), revision_count()
    document = client.get("/admin/rules/export").get_json()
    document["rules"].append({"name": "Good new rule", "trigger": "created", "condition": {"all": []},
                              "actions": [{"type": "add_tags", "tags": ["x"]}]})
    document["rules"][0]["condition"]["all"][1]["any"][0]["field"] = "cf.nope"
    response = upload(client, document)
    assert response.status_code == 422
    html = page(response)
    assert "Nothing was imported." in html
    assert "Rule 'VIP to senior', condition row 1.0:" in html
    db.session.expire_all()
    assert rule_count() == before and revision_count() == revisions
    assert db.session.query(Rule).filter_by(name="Good new rule").first() is None


@pytest.mark.parametrize("body,message", [
    (b"{not json", "Not valid JSON"),
    (b'{"rules": 3}', "Expected"),
    (b"", "Choose a JSON file"),
])
def test_import_refuses_unreadable_files(client, org, body, message):
    login(client, org.admin)
    before = rule_count()
    response = upload(client, body)
    assert response.status_code == 422 and message in page(response)
    assert rule_count() == before


def test_supervisor_imports_only_into_own_departments(client, org):
    login(client, org.supervisor)
    before, revisions = rule_count(), revision_count()
    document = {"schema": 1, "rules": [
        {"name": "Mine", "department": "Support", "trigger": "created", "condition": {"all": []},
         "actions": [{"type": "add_tags", "tags": ["a"]}]},
        {"name": "Everyone's", "department": None, "trigger": "created", "condition": {"all": []},
         "actions": [{"type": "add_tags", "tags": ["b"]}]},
        {"name": "Invoices to billing team", "department": "Billing", "trigger": "created",
         "condition": {"all": []}, "actions": []},
    ]}
    response = upload(client, document)
    assert response.status_code == 422
    html = page(response)
    assert "Rule “Everyone's”: you can only import rules of your own departments." in html
    assert "Rule “Invoices to billing team”: you can only import rules of your own departments." in html
    assert rule_count() == before and revision_count() == revisions
    document["rules"] = document["rules"][:1]
    assert upload(client, document).status_code == 302
    assert db.session.query(Rule).filter_by(name="Mine").one().department_id == org.support.id
