"""Every field and operator the catalogue offers gets a value input, and what it renders posts back
to the same condition (the real catalogue, the real templates)."""
import pytest
from flask_login import login_user

from rule_builder import builder_state as bs
from rule_builder.views.condition_widget import Editor, parse_editor
from rule_builder.views.fields import WIDGETS, field_uis

from .conftest import form_inputs


def sample_value(spec: bs.FieldUI, op: str):
    widget = bs.widget_for(spec, op)
    first = spec.choices[0][0] if spec.choices else None
    numeric = spec.type in ("number", "ref")
    return {
        "none": None, "text": "abc", "number": 3, "select": first, "multi": [first] if first is not None else [],
        "bool": True, "date": "2026-03-01", "datetime": "2026-03-01T01:30:00Z", "duration": 3,
        "keywords": [4, 5] if numeric else ["退款", "refund"], "number_range": [1, 5],
        "date_range": ["2026-03-01", "2026-03-31"],
        "datetime_range": ["2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"], "text_range": ["a", "b"],
    }[widget]


@pytest.mark.parametrize("context", ["event", "query"])
def test_every_operator_has_an_input_that_round_trips(app, org, context):
    with app.test_request_context():
        login_user(org.admin)
        fields = field_uis(org.support.id, context=context)
        assert {"subject", "priority", "contact.tier", "tags", "created_at", "thread_count"} <= set(fields)
        leaves = []
        for spec in fields.values():
            assert spec.ops, spec.name
            for op in spec.ops:
                widget = bs.widget_for(spec, op)
                assert widget in WIDGETS, (spec.name, op, widget)
                if widget in ("select", "multi"):
                    assert spec.choices, (spec.name, op)
                leaf = {"field": spec.name, "op": op}
                value = sample_value(spec, op)
                if bs.takes_value(op):
                    leaf["value"] = value
                if widget == "duration":
                    leaf["unit"] = "hours"
                leaves.append(leaf)
        condition = {"any": leaves}
        editor = Editor("condition", context=context, department_id=org.support.id, fields=fields)
        html = str(editor.render(bs.tree_from_condition(condition)))
        posted = bs.multidict(form_inputs(html))
        assert parse_editor(posted, name="condition", editor=editor) == condition
