"""Saving rules: errors on the row, revisions and rollback, order, export/import (all or nothing), CLI."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from factories import make_admin, make_department, make_team
from portal.extensions import db
from portal.services.errors import ValidationFailed
from rule_builder.models import Rule, RuleRevision
from rule_builder.services import (all_rules, delete_rule, export_rules, import_rules, reorder, revisions, rollback,
                                   rule_document, save_rule, set_enabled)

from .helpers import leaf, make_rule

pytestmark = pytest.mark.integration

VIP = {"all": [leaf("contact.tier", "eq", "vip"),
               {"any": [leaf("subject", "contains_any", ["退款", "refund"]), leaf("body", "contains", "refund")]}]}


def count(model=Rule) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_every_problem_is_reported_on_its_row_and_nothing_is_stored(app):
    team = make_team()
    data = {"name": "  ", "trigger": "sometimes", "department_id": 999,
            "condition": {"all": [leaf("priority", "eq", "high"),
                                  {"any": [leaf("cf.size", "eq", "L"), leaf("subject", "regex", "(?<=a)b")]}]},
            "actions": [{"type": "set_field", "field": "priority", "value": "high"},
                        {"type": "assign", "team": team.id},
                        {"type": "add_note", "body": "{{ ''.__class__.__mro__ }}"}]}
    with pytest.raises(ValidationFailed) as caught:
        save_rule(None, data, None)
    errors = caught.value.errors
    assert set(errors) == {"name", "trigger", "department", "condition.1.0", "condition.1.1", "actions.2"}
    assert "cf.size" in str(errors["condition.1.0"])
    assert "sandbox" in errors["actions.2"]
    assert count() == 0 and count(RuleRevision) == 0


def test_time_rules_refuse_change_operators(app):
    with pytest.raises(ValidationFailed) as caught:
        save_rule(None, {"name": "T", "trigger": "time", "condition": {"all": [leaf("status", "changed")]},
                         "actions": [{"type": "add_tags", "tags": ["x"]}]}, None)
    assert set(caught.value.errors) == {"condition.0"}


def test_names_are_unique_regardless_of_case(app):
    make_rule("VIP to senior")
    with pytest.raises(ValidationFailed) as caught:
        save_rule(None, {"name": "vip TO senior", "trigger": "created"}, None)
    assert "already exists" in caught.value.errors["name"]


def test_each_save_is_a_revision_with_a_summary_and_rollback_restores(app):
    admin = make_admin()
    dept = make_department(name="Tech support")
    rule = make_rule("VIP to senior", condition=VIP, actions=[{"type": "add_tags", "tags": ["vip"]}], by=admin)
    assert (rule.revision, rule.created_by_id, rule.updated_by_id) == (1, admin.id, admin.id)
    doc1 = rule_document(rule)
    save_rule(rule, {**doc1, "name": "VIP first", "department": "Tech support",
                     "actions": doc1["actions"] + [{"type": "set_field", "field": "priority", "value": "high"}]}, admin)
    set_enabled(rule, False, admin)
    assert save_rule(rule, rule_document(rule), admin).revision == 3  # unchanged document: no new revision
    db.session.commit()
    summaries = [(r.revision, r.summary, r.author_id) for r in revisions(rule)]
    assert summaries == [
        (3, "Disabled.", admin.id),
        (2, "Renamed 'VIP to senior' → 'VIP first'; department all → Tech support; actions 1 → 2.", admin.id),
        (1, "Created.", admin.id)]
    assert rule.department_id == dept.id
    rollback(rule, 1, admin)
    db.session.commit()
    assert rule.revision == 4 and rule_document(rule) == doc1
    assert revisions(rule)[0].summary.startswith("Rolled back to r1: renamed 'VIP first' → 'VIP to senior'")
    with pytest.raises(ValidationFailed):
        rollback(rule, 9, admin)


def test_rollback_to_a_revision_that_is_no_longer_valid_is_refused(app):
    team = make_team()
    rule = make_rule(actions=[{"type": "assign", "team": team.id}])
    save_rule(rule, {**rule_document(rule), "actions": [{"type": "add_tags", "tags": ["x"]}]}, None)
    db.session.delete(team)
    db.session.commit()
    with pytest.raises(ValidationFailed) as caught:
        rollback(rule, 1, None)
    assert caught.value.errors == {"actions.0": "Unknown team."}
    assert rule.revision == 2


def test_reorder(app):
    a, b, c = make_rule("A"), make_rule("B"), make_rule("C")
    reorder([c.id, a.id])
    assert [r.name for r in all_rules()] == ["C", "A", "B"]
    with pytest.raises(ValidationFailed):
        reorder([12345])


def test_export_import_round_trip(app):
    dept = make_department(name="Returns", name_zh="退换货")
    team = make_team(dept, name="Replacements")
    make_rule("Overheating", department=dept, condition={"all": [leaf("body", "contains_any", ["手机发热"])]},
              actions=[{"type": "set_field", "field": "priority", "value": "high"},
                       {"type": "assign", "team": team.id}])
    make_rule("VIP to senior", condition=VIP, actions=[{"type": "add_tags", "tags": ["vip"]}])
    make_rule("Nightly", trigger="time", condition={"all": [leaf("hours_until_due", "lt", 0)]},
              actions=[{"type": "notify", "to": "supervisor", "text": {"en": "Late", "zh": "超时"}}], enabled=False)
    exported = export_rules()
    text = json.dumps(exported, ensure_ascii=False)
    assert exported["schema"] == 1 and [r["name"] for r in exported["rules"]] == ["Overheating", "VIP to senior",
                                                                                  "Nightly"]
    assert exported["rules"][0]["department"] == "Returns"
    # Importing into the same desk changes nothing.
    assert import_rules(text, None) == {"created": [], "updated": [], "unchanged": ["Overheating", "VIP to senior",
                                                                                  "Nightly"]}
    assert count(RuleRevision) == 3
    # Into an empty desk (same ids): the same rules, in the same order.
    for rule in all_rules():
        delete_rule(rule)
    db.session.commit()
    outcome = import_rules(text, None)
    db.session.commit()
    assert outcome["created"] == ["Overheating", "VIP to senior", "Nightly"]
    assert export_rules() == exported


def test_import_refuses_with_the_rule_and_row_and_imports_nothing(app):
    make_rule("VIP to senior", condition=VIP)
    before = export_rules()
    doc = {"schema": 1, "rules": [
        {"name": "New one", "trigger": "created", "condition": {"all": []}, "actions": [{"type": "stop"}]},
        {**before["rules"][0], "condition": {"all": [leaf("priority", "eq", "high"),
                                                     {"all": [leaf("cf.size", "eq", "L")]}]}},
        {"name": "Bad action", "trigger": "created", "actions": [{"type": "add_tags", "tags": ["ok"]},
                                                                 {"type": "assign", "team": 424242}]},
    ]}
    with pytest.raises(ValidationFailed) as caught:
        import_rules(doc, None)
    messages = list(caught.value.errors.values())
    assert messages == ["Rule 'VIP to senior', condition row 1.0: Unknown field 'cf.size'.",
                        "Rule 'Bad action', action row 1: Unknown team."]
    db.session.commit()
    assert export_rules() == before and count() == 1


@pytest.mark.parametrize("payload, key, fragment", [
    ("{not json", "file", "Not valid JSON"),
    (b"\xff\xfe", "file", "Not valid JSON"),
    ("[]", "file", "Expected"),
    ('{"schema": 2, "rules": []}', "schema", "Unsupported schema 2"),
    ('{"schema": 1, "rules": [{"name": "A", "trigger": "created"}, {"name": "a", "trigger": "created"}]}',
     "rules.1.name", "used twice"),
    ('{"schema": 1, "rules": [7]}', "rules.0", "JSON object"),
])
def test_import_refuses_bad_files_cleanly(app, payload, key, fragment):
    with pytest.raises(ValidationFailed) as caught:
        import_rules(payload, None)
    assert fragment in caught.value.errors[key]
    assert count() == 0


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_cli_export_and_import(app, tmp_path):
    admin = make_admin(email="boss@example.com")
    make_rule("VIP to senior", condition=VIP, actions=[{"type": "add_tags", "tags": ["vip"]}])
    out = tmp_path / "rules.json"
    result = run(app, "rules", "export", str(out))
    assert result.exit_code == 0, result.output
    doc = json.loads(out.read_text())
    assert [r["name"] for r in doc["rules"]] == ["VIP to senior"]
    stdout = run(app, "rules", "export")
    assert json.loads(stdout.output) == doc
    doc["rules"][0]["actions"] = [{"type": "add_tags", "tags": ["vip", "senior"]}]
    out.write_text(json.dumps(doc))
    result = run(app, "rules", "import", str(out), "--by", "boss@example.com")
    assert result.exit_code == 0, result.output
    assert "0 created, 1 updated, 0 unchanged" in result.output
    db.session.expire_all()
    rule = db.session.scalar(select(Rule))
    assert rule.revision == 2 and revisions(rule)[0].author_id == admin.id

    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": 1, "rules": [{"name": "X", "trigger": "created", '
                   '"condition": {"all": [{"field": "cf.size", "op": "eq", "value": "L"}]}}]}')
    result = run(app, "rules", "import", str(bad))
    assert result.exit_code != 0
    assert "nothing imported" in result.output
    assert "Rule 'X', condition row 0: Unknown field 'cf.size'." in result.output
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    result = run(app, "rules", "import", str(broken))
    assert result.exit_code != 0 and "Not valid JSON" in result.output
    assert run(app, "rules", "import", str(tmp_path / "missing.json")).exit_code != 0
    assert run(app, "rules", "import", str(out), "--by", "nobody@example.com").exit_code != 0
    assert count() == 1
