"""builder_state: the builder's posted inputs <-> condition and action JSON (pure functions)."""
import pytest

from rule_builder import builder_state as bs
from rule_builder.builder_state import FieldUI

FIELDS = {
    "subject": FieldUI("subject", "text", "Subject", "Ticket",
                       ops=("eq", "neq", "contains", "contains_any", "regex", "is_empty")),
    "body": FieldUI("body", "text", "Request", "Ticket", ops=("contains", "contains_any")),
    "priority": FieldUI("priority", "priority", "Priority", "Ticket", ops=("eq", "in", "gt", "changed_to"),
                        choices=(("low", "Low"), ("normal", "Normal"), ("high", "High"), ("urgent", "Urgent"))),
    "team": FieldUI("team", "ref", "Team", "Ticket", ops=("eq", "in", "is_empty"),
                    choices=((3, "Senior"), (4, "Refunds"))),
    "contact": FieldUI("contact", "ref", "Customer", "Ticket", ops=("eq", "in")),
    "contact.tier": FieldUI("contact.tier", "enum", "Customer tier", "Customer", ops=("eq", "neq", "in"),
                            choices=(("standard", "Standard"), ("vip", "VIP"))),
    "tags": FieldUI("tags", "list", "Tags", "Ticket", ops=("contains", "contains_any", "is_empty")),
    "thread_count": FieldUI("thread_count", "number", "Messages", "Computed", ops=("gt", "between", "eq")),
    "is_business_hours": FieldUI("is_business_hours", "bool", "Business hours", "Computed", ops=("eq",)),
    "created_at": FieldUI("created_at", "datetime", "Created", "Ticket",
                          ops=("gt", "between", "older_than", "within", "is_empty")),
    "cf.due": FieldUI("cf.due", "date", "Due date", "Custom fields", ops=("lt", "between")),
}

VIP = {"all": [
    {"field": "contact.tier", "op": "eq", "value": "vip"},
    {"any": [{"field": "subject", "op": "contains_any", "value": ["退款", "refund"]},
             {"field": "body", "op": "contains_any", "value": ["退款", "refund"]}]},
]}

ROUND_TRIPS = [
    {"all": []},
    {"any": []},
    VIP,
    {"all": [{"field": "priority", "op": "in", "value": ["high", "urgent"]},
             {"field": "priority", "op": "changed_to", "value": "high"},
             {"field": "team", "op": "eq", "value": 3},
             {"field": "team", "op": "is_empty"},
             {"field": "contact", "op": "in", "value": [12, 40]},
             {"field": "tags", "op": "contains", "value": "refund"},
             {"field": "tags", "op": "contains_any", "value": ["a b", "c"]}]},
    {"any": [{"field": "thread_count", "op": "gt", "value": 10},
             {"field": "thread_count", "op": "between", "value": [2, 5.5]},
             {"field": "is_business_hours", "op": "eq", "value": False},
             {"field": "created_at", "op": "older_than", "value": 3, "unit": "hours"},
             {"field": "created_at", "op": "within", "value": 90, "unit": "minutes"},
             {"field": "created_at", "op": "gt", "value": "2026-03-01T01:30:00Z"},
             {"field": "created_at", "op": "between", "value": ["2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"]},
             {"field": "cf.due", "op": "between", "value": ["2026-03-01", "2026-03-31"]}]},
    {"not": {"field": "subject", "op": "regex", "value": r"^order\s*#?\d+"}},
    {"not": {"any": [{"field": "subject", "op": "eq", "value": "a"}, {"field": "subject", "op": "neq", "value": "b"}]}},
    {"all": [{"not": {"all": [{"field": "subject", "op": "contains", "value": "x"},
                              {"any": [{"field": "body", "op": "contains", "value": "y"}]}]}}]},
]


@pytest.mark.parametrize("condition", ROUND_TRIPS)
@pytest.mark.parametrize("tz", ["UTC", "Asia/Shanghai"])
def test_condition_round_trip(condition, tz):
    """JSON -> the inputs the editor renders -> posted back -> the same JSON (form -> JSON -> form too)."""
    tree = bs.tree_from_condition(condition)
    pairs = bs.form_from_tree(tree, "condition", FIELDS, tz)
    again = bs.condition_from_form(bs.multidict(pairs), "condition", FIELDS, tz)
    assert again == condition
    assert bs.form_from_tree(bs.tree_from_condition(again), "condition", FIELDS, tz) == pairs


def test_the_posted_vip_rule():
    form = bs.multidict([
        ("condition[r][kind]", "all"),
        ("condition[r.0][field]", "contact.tier"), ("condition[r.0][op]", "eq"), ("condition[r.0][value]", "vip"),
        ("condition[r.1][kind]", "any"),
        ("condition[r.1.0][field]", "subject"), ("condition[r.1.0][op]", "contains_any"),
        ("condition[r.1.0][value]", "退款"), ("condition[r.1.0][kw]", "refund"),     # a chip, and typed text
        ("condition[r.1.1][field]", "body"), ("condition[r.1.1][op]", "contains_any"),
        ("condition[r.1.1][kw]", "退款，refund、 退款"),                            # no JavaScript: split here
        ("unrelated", "x"),
    ])
    assert bs.condition_from_form(form, "condition", FIELDS) == VIP


def test_rows_are_ordered_by_index_not_by_post_order():
    form = bs.multidict([
        ("c[r.10][field]", "subject"), ("c[r.10][op]", "is_empty"),
        ("c[r][kind]", "any"),
        ("c[r.2][field]", "tags"), ("c[r.2][op]", "is_empty"),
    ])
    assert bs.condition_from_form(form, "c", FIELDS) == {"any": [{"field": "tags", "op": "is_empty"},
                                                                 {"field": "subject", "op": "is_empty"}]}


def test_unreadable_values_are_kept_for_validation():
    form = bs.multidict([
        ("condition[r][kind]", "all"),
        ("condition[r.0][field]", "thread_count"), ("condition[r.0][op]", "gt"), ("condition[r.0][value]", "ten"),
        ("condition[r.1][field]", "nope"), ("condition[r.1][op]", "eq"), ("condition[r.1][value]", "1"),
        ("condition[r.2][field]", ""), ("condition[r.2][op]", ""),
    ])
    assert bs.condition_from_form(form, "condition", FIELDS)["all"] == [
        {"field": "thread_count", "op": "gt", "value": "ten"},
        {"field": "nope", "op": "eq", "value": "1"},
        {"field": "", "op": ""},
    ]


def test_datetime_inputs_are_in_the_viewers_zone():
    form = bs.multidict([("c[r][kind]", "all"), ("c[r.0][field]", "created_at"), ("c[r.0][op]", "gt"),
                         ("c[r.0][value]", "2026-03-01T09:30")])
    cond = bs.condition_from_form(form, "c", FIELDS, "Asia/Shanghai")
    assert cond["all"][0]["value"] == "2026-03-01T01:30:00Z"
    assert bs.row_inputs(cond["all"][0], FIELDS["created_at"], "Asia/Shanghai")["value"] == "2026-03-01T09:30"


def test_structural_operations():
    root = bs.tree_from_condition(VIP)
    bs.apply_op(root, "add_row", "r.1")
    bs.apply_op(root, "add_group", "r")
    bs.apply_op(root, "remove", "r.0")
    assert bs.condition_from_tree(root) == {"all": [
        {"any": [*VIP["all"][1]["any"], {"field": "", "op": ""}]},
        {"any": [{"field": "", "op": ""}]},
    ]}
    bs.apply_op(root, "add_group", "r.0")          # inside an "any": an "all" group
    assert bs.condition_from_tree(root)["all"][0]["any"][-1] == {"all": [{"field": "", "op": ""}]}
    before = bs.condition_from_tree(root)
    for op, at in [("remove", "r"), ("remove", "r.9"), ("add_row", "r.0.0"), ("bogus", "r"), ("add_row", "x")]:
        bs.apply_op(root, op, at)                   # the root, missing nodes, rows, unknown ops: nothing
    assert bs.condition_from_tree(root) == before


def test_depth_is_bounded():
    root = bs.tree_from_condition({"all": [{"any": [{"all": [{"any": []}]}]}]})
    bs.apply_op(root, "add_group", "r.0.0.0", max_depth=4)
    assert bs.condition_from_tree(root) == {"all": [{"any": [{"all": [{"any": []}]}]}]}


def test_error_paths_land_on_their_rows():
    tree = bs.tree_from_condition(VIP)
    assert tree.paths == ("",)
    assert tree.children[1].paths == ("1",)
    assert tree.children[1].children[0].paths == ("1.0",)
    none_group = bs.tree_from_condition({"all": [{"not": {"any": [{"field": "a"}, {"field": "b"}]}}]}).children[0]
    assert none_group.kind == "none" and none_group.paths == ("0", "0.0")
    assert none_group.children[1].paths == ("0.0.1",)
    lone = bs.tree_from_condition({"field": "subject", "op": "eq", "value": "x"})   # a leaf at the root
    assert lone.kind == "all" and lone.children[0].paths == ("",)

    errors = {"name": "n", "condition": "c", "condition.1.0": "bad", "actions.2": "a"}
    assert bs.errors_by_path(errors, "condition") == {"": ["c"], "1.0": ["bad"]}
    assert bs.action_errors(errors) == {2: ["a"]}
    assert bs.action_errors({"actions": "too many"}) == {-1: ["too many"]}


class Err:
    def __init__(self, path, message):
        self.path, self.message = path, message


def test_errors_from_condition_error_objects():
    assert bs.errors_by_path([Err("1.0", "Unknown field"), Err("1.0", "again"), ("", "root")]) == {
        "1.0": ["Unknown field", "again"], "": ["root"]}


ACTION_FIELDS = {"priority": FIELDS["priority"], "cf.size": FieldUI("cf.size", "number", "Size", ops=("eq",)),
                 "cf.colours": FieldUI("cf.colours", "list", "Colours", ops=("contains",))}

ACTIONS = [
    {"type": "set_field", "field": "priority", "value": "high"},
    {"type": "set_field", "field": "team", "value": 3},
    {"type": "set_field", "field": "assignee", "value": None},
    {"type": "set_field", "field": "cf.size", "value": 42},
    {"type": "set_field", "field": "cf.colours", "value": ["red", "blue"]},
    {"type": "assign", "team": 3},
    {"type": "assign", "agent": 7},
    {"type": "assign", "strategy": "round_robin"},
    {"type": "add_tags", "tags": ["vip", "退款"]},
    {"type": "remove_tags", "tags": ["new"]},
    {"type": "add_note", "body": "Checked by {{ assignee.name }}"},
    {"type": "send_email", "to": "customer", "subject": {"en": "Re: {{ ticket.subject }}", "zh": "回复：{{ ticket.subject }}"},
     "body": "Hello {{ contact.name }}\nThanks"},
    {"type": "send_email", "to": "address", "address": "boss@example.com", "subject": "VIP", "body": {"zh": "贵宾"}},
    {"type": "notify", "to": "agent", "agent": 7, "text": "Look at {{ ticket.ref }}"},
    {"type": "notify", "to": "team", "text": "New VIP ticket"},
    {"type": "webhook", "url": "https://hooks.example.com/x", "secret": "s3cret"},
    {"type": "webhook", "url": "https://hooks.example.com/y"},
    {"type": "move_department", "department": 2, "team": 5},
    {"type": "move_department", "department": 2},
    {"type": "stop"},
]


def test_actions_round_trip():
    pairs = bs.form_from_actions(ACTIONS, "actions", ACTION_FIELDS)
    again = bs.actions_from_form(bs.multidict(pairs), "actions", ACTION_FIELDS)
    assert again == ACTIONS
    assert bs.form_from_actions(again, "actions", ACTION_FIELDS) == pairs


def test_posted_actions_with_typed_tags_and_blank_choices():
    form = bs.multidict([
        ("actions[1][type]", "add_tags"), ("actions[1][tags]", "vip"), ("actions[1][kw]", "refund, 退款"),
        ("actions[0][type]", "assign"), ("actions[0][assign_to]", "team"), ("actions[0][team]", ""),
        ("actions[2][type]", "send_email"), ("actions[2][to]", "customer"), ("actions[2][address]", "ignored@x.y"),
        ("actions[2][subject_en]", "Hi"), ("actions[2][subject_zh]", ""), ("actions[2][body_en]", "a\r\nb"),
        ("actions[2][body_zh]", "   "),
        ("actions[3][type]", ""),
    ])
    assert bs.actions_from_form(form, "actions", ACTION_FIELDS) == [
        {"type": "assign", "team": None},
        {"type": "add_tags", "tags": ["vip", "refund", "退款"]},
        {"type": "send_email", "to": "customer", "subject": "Hi", "body": "a\nb"},
        {"type": "",},
    ]


def test_action_list_operations():
    actions = [{"type": "stop"}, {"type": "add_note", "body": "x"}]
    assert bs.apply_action_op(actions, "add", None, "webhook")[-1] == {"type": "webhook"}
    assert bs.apply_action_op(actions, "up", 1) == actions[::-1]
    assert bs.apply_action_op(actions, "down", 0) == actions[::-1]
    assert bs.apply_action_op(actions, "down", 1) == actions
    assert bs.apply_action_op(actions, "remove", 0) == [actions[1]]
    assert bs.apply_action_op(actions, "remove", 5) == actions
    assert actions == [{"type": "stop"}, {"type": "add_note", "body": "x"}]   # never changed in place


@pytest.mark.parametrize("spec,op,widget", [
    (FIELDS["subject"], "contains_any", "keywords"), (FIELDS["subject"], "regex", "text"),
    (FIELDS["priority"], "in", "multi"), (FIELDS["priority"], "eq", "select"),
    (FIELDS["contact"], "in", "keywords"), (FIELDS["contact"], "eq", "number"),
    (FIELDS["thread_count"], "between", "number_range"), (FIELDS["created_at"], "within", "duration"),
    (FIELDS["created_at"], "gt", "datetime"), (FIELDS["cf.due"], "between", "date_range"),
    (FIELDS["is_business_hours"], "eq", "bool"), (FIELDS["team"], "is_empty", "none"), (None, "eq", "none"),
    (FieldUI("x", "text", widgets=(("eq", "keywords"),)), "eq", "keywords"),   # the catalogue's word wins
])
def test_widgets(spec, op, widget):
    assert bs.widget_for(spec, op) == widget
