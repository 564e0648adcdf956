"""Whatever JSON an admin, an import file or an API client sends, validation answers with errors at
paths: it never raises, and nothing it calls valid breaks a save."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.fields.schema import check_field, check_layout

from .helpers import layout, leaf, section

pytestmark = pytest.mark.integration

SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.floats(allow_nan=False),
                    st.sampled_from(["", "paper", "order_number", "cf.category", "all", "eq", "s1", "x" * 300]))
JSON = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(["key", "type", "label", "options", "value", "field", "op", "all", "any",
                                     "not", "sections", "fields", "id", "title", "version", "show_when",
                                     "validation", "min", "max", "regex", "parent_key", "portal", "required"]),
                    inner, max_size=5)), max_leaves=20)
FIELD_KEYS = ["key", "type", "label", "label_zh", "help_text", "default", "required", "validation", "visibility",
              "options", "parent_key", "currency", "filterable"]
FIELDS = st.fixed_dictionaries({"key": st.sampled_from(["size", "Size", "", "order_number"]),
                                "type": st.sampled_from(["text", "number", "picklist", "multiselect",
                                                         "dependent_picklist", "currency", "date", "nope"]),
                                "label": st.sampled_from(["Size", "", "x" * 300])},
                               optional={k: JSON for k in FIELD_KEYS if k not in ("key", "type", "label")})
ROWS = st.fixed_dictionaries({"key": st.sampled_from(["order_number", "category", "amount", "nope"])},
                             optional={"required": JSON, "portal": JSON,
                                       "show_when": st.one_of(JSON, st.just(leaf("cf.category", "eq", "paper"))),
                                       "require_when": JSON})
LAYOUTS = st.one_of(JSON, st.builds(lambda rows: layout(section("s1", *rows)), st.lists(ROWS, max_size=4)))


def paths_are_text(errors: dict) -> bool:
    return all(isinstance(path, str) and str(message) for path, message in errors.items())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.one_of(JSON, FIELDS))
def test_any_field_document_gets_errors_not_exceptions(desk, data):
    document, errors = check_field(data, current=None)
    assert paths_are_text(errors)
    assert errors or document["key"] not in desk.fields


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(LAYOUTS)
def test_any_layout_document_gets_errors_not_exceptions(desk, document):
    clean, errors = check_layout(document, department_id=desk.books.id)
    assert paths_are_text(errors)
    if not errors:
        assert check_layout(clean, department_id=desk.books.id) == (clean, {})  # what is stored checks again
