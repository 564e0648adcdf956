"""The catalogue: what the builder UI is generated from, and the hooks other features fill."""
from __future__ import annotations

import json

import pytest

from portal.conditions import (Catalogue, CustomFieldSpec, app_catalogue, register_custom_field_provider,
                               standard_catalogue)
from portal.conditions import fields


def by_name(description):
    return {field["name"]: field for field in description}


def ops(field):
    return {op["op"]: op for op in field["operators"]}


def test_describe_is_json_with_everything_a_builder_needs(pool):
    described = pool.catalogue.describe()
    json.dumps(described)
    fields_ = by_name(described)
    assert set(fields_) == {spec.name for spec in pool.catalogue}
    priority = fields_["priority"]
    assert (priority["label"], priority["type"], priority["group"]) == ("Priority", "priority", "ticket")
    assert priority["choices"][0] == {"value": "low", "label": "Low"}
    assert ops(priority)["gt"] == {"op": "gt", "label": "is higher than", "widget": "select", "multiple": False,
                                   "range": False}
    assert (ops(priority)["in"]["widget"], ops(priority)["in"]["multiple"]) == ("multiselect", True)
    assert ops(fields_["thread_count"])["between"]["range"] is True
    older = ops(fields_["created_at"])["older_than"]
    assert (older["widget"], [u["value"] for u in older["units"]]) == ("duration", ["minutes", "hours"])
    assert ops(fields_["created_at"])["is_empty"]["widget"] is None
    assert ops(fields_["subject"])["contains_any"]["widget"] == "keywords"
    assert ops(fields_["tags"])["contains"] == {"op": "contains", "label": "has", "widget": "text",
                                                "multiple": False, "range": False}
    assert ops(fields_["tags"])["contains_any"]["widget"] == "keywords"
    assert ops(fields_["contact"])["eq"]["widget"] == "number" and fields_["contact"]["choices"] is None
    assert ops(fields_["cf.warranty"])["eq"]["widget"] == "bool"
    assert ops(fields_["cf.ship_date"])["between"]["widget"] == "date"
    assert ops(fields_["cf.colors"])["contains_any"]["widget"] == "multiselect"
    assert ops(fields_["contact"])["in"] == {"op": "in", "label": "is one of", "widget": "number", "multiple": True,
                                             "range": False}


def test_record_and_picklist_choices_come_from_the_database_per_department(pool):
    everywhere = by_name(pool.catalogue.describe(context="query"))
    assert [c["label"] for c in everywhere["department"]["choices"]] == ["Billing", "Empty", "Support"]
    assert [c["label"] for c in everywhere["team"]["choices"]] == ["Support / Tier 1", "Billing / Invoices"]
    assert everywhere["assignee"]["choices"][0] == {"value": "me", "label": "Me"}
    assert [c["value"] for c in everywhere["cf.size"]["choices"]] == ["S", "M", "L", "XL"]
    support = by_name(pool.catalogue.describe(department_id=pool.depts["d1"]))
    assert [c["label"] for c in support["team"]["choices"]] == ["Tier 1"]
    assert [c["label"] for c in support["assignee"]["choices"]] == ["Agent One"]
    assert [c["value"] for c in support["cf.size"]["choices"]] == ["S", "M", "L"]


def test_change_operators_only_in_event_context(pool):
    event = by_name(pool.catalogue.describe(context="event"))
    query = by_name(pool.catalogue.describe(context="query"))
    assert {"changed", "changed_to", "changed_from"} <= set(ops(event["priority"]))
    assert {"changed", "changed_to", "changed_from"} <= set(ops(event["cf.size"]))
    assert "changed" not in ops(event["hours_since_created"])  # computed: no changes recorded
    assert "changed" not in ops(query["priority"])
    assert "me" not in [c["value"] for c in event["assignee"]["choices"]]


def test_the_provider_adds_custom_fields_to_the_app_catalogue():
    register_custom_field_provider(lambda: [CustomFieldSpec("size", "picklist", "Size", {1: ["S"]})])
    try:
        assert app_catalogue().get("cf.size").type == "enum"
        assert standard_catalogue().get("cf.size") is None
    finally:
        register_custom_field_provider(None)
    assert app_catalogue() == standard_catalogue()


@pytest.mark.parametrize("key, type_", [("Size", "text"), ("a-b", "text"), ("1st", "text"), ("ok", "colour")])
def test_custom_field_specs_are_checked(key, type_):
    with pytest.raises(ValueError):
        CustomFieldSpec(key, type_, "Label")


def test_catalogues_with_the_same_fields_are_equal():
    a = Catalogue(custom=[CustomFieldSpec("size", "text", "Size")])
    assert a == Catalogue(custom=[CustomFieldSpec("size", "text", "Another label")])
    assert hash(a) == hash(Catalogue(custom=[CustomFieldSpec("size", "text", "Size")]))
    assert a != Catalogue(custom=[CustomFieldSpec("size", "number", "Size")])


def test_business_timezone_comes_from_the_config(make_app):
    default = fields.business_settings["timezone"]
    try:
        make_app(BUSINESS_TIMEZONE="Europe/London")
        assert fields.business_settings["timezone"] == "Europe/London"
    finally:
        fields.business_settings["timezone"] = default
