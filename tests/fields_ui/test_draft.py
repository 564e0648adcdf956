"""The builder's draft operations and how a refused layout's errors are filed (no database)."""
from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from portal.admin.fields import draft


def doc(*sections):
    return {"version": 1, "sections": [{"id": sid, "title": sid.upper(), "title_zh": "", "fields": [
        {"key": k} for k in keys]} for sid, keys in sections]}


def keys(document):
    return [[row["key"] for row in s["fields"]] for s in document["sections"]]


def test_read_applies_typed_titles_and_drops_rows_without_a_key():
    document = doc(("s1", ["a"]))
    document["sections"][0]["fields"].append({"portal": True})
    form = MultiDict({"document": draft.dumps(document), "title-s1": "Shipping", "title_zh-s1": "配送"})
    read = draft.read(form)
    assert read["sections"][0]["title"] == "Shipping" and read["sections"][0]["title_zh"] == "配送"
    assert keys(read) == [["a"]]


@pytest.mark.parametrize("raw", ["", "[]", '{"sections": 3}', '{"sections": [1]}'])
def test_read_refuses_what_is_not_a_layout(raw):
    with pytest.raises(draft.UnreadableDraft):
        draft.read(MultiDict({"document": raw}))


def test_add_goes_to_the_chosen_section_once():
    document = doc(("s1", []), ("s2", []))
    draft.add(document, "a", "s1")
    draft.add(document, "a", "s2")
    draft.add(document, "b", None)
    assert keys(document) == [["a"], ["b"]]


def test_arrange_keeps_rows_the_arrangement_forgot():
    document = doc(("s1", ["a", "b"]), ("s2", ["c"]))
    draft.arrange(document, [{"id": "s2", "keys": ["a", "c"]}])
    assert [s["id"] for s in document["sections"]] == ["s2", "s1"]
    assert keys(document) == [["a", "c"], ["b"]]
    draft.arrange(document, [{"id": "s1", "keys": ["b"]}, {"id": "s2", "keys": ["c"]}])
    assert keys(document) == [["b"], ["c", "a"]]     # "a" was left out: it goes to the end, not away


def test_move_crosses_section_edges_and_stops_at_the_ends():
    document = doc(("s1", ["a"]), ("s2", ["b"]))
    draft.move(document, "a", "down")
    assert keys(document) == [[], ["a", "b"]]
    draft.move(document, "b", "down")
    assert keys(document) == [[], ["a", "b"]]
    draft.move(document, "a", "up")
    draft.move(document, "a", "up")
    assert keys(document) == [["a"], ["b"]]


def test_sections_get_fresh_ids():
    document = doc(("s1", []), ("s3", []))
    assert draft.add_section(document) == "s4" and draft.add_section(document) == "s5"


def test_set_row_drops_empty_conditions():
    document = doc(("s1", ["a"]))
    draft.set_row(document, "a", required=False, portal=True, show_when={"all": []},
                  require_when={"any": [{"field": "priority", "op": "eq", "value": "high"}]})
    assert document["sections"][0]["fields"][0] == {
        "key": "a", "required": False, "portal": True,
        "require_when": {"any": [{"field": "priority", "op": "eq", "value": "high"}]}}


def test_errors_are_filed_by_section_row_and_condition_row():
    errors = draft.LayoutErrors({
        "sections.0.title": "A section needs a title.",
        "sections.1.fields.2.key": "There is no field 'x'.",
        "sections.1.fields.2.portal": "Agents only.",
        "sections.1.fields.0.show_when.all.1.any.0": "Bad value.",
        "version": "Unsupported layout version.",
    })
    assert errors.section(0, "title") == ["A section needs a title."] and errors.section(1) == []
    assert errors.row(1, 2) == ["There is no field 'x'.", "Customer portal: Agents only."]
    assert errors.condition(1, 0, "show_when") == {"1.0": "Bad value."}
    assert errors.other == ["Unsupported layout version."]


@pytest.mark.parametrize("named,index", [("", ""), ("all.1", "1"), ("all.1.any.0", "1.0"), ("not", "0"),
                                         ("not.any.2", "0.2"), ("any.0.not.all.3", "0.0.3")])
def test_index_path(named, index):
    assert draft.index_path(named) == index
