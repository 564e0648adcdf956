"""Our engine as the benchmark uses it: portal.conditions (RuleSetMatcher and compile_to_python).

Both get the raw snapshot (what portal.conditions.snapshot produces) and an empty change set,
as for a "created" event; folding and computed fields are their own business.
"""
from __future__ import annotations

from common import CUSTOM_FIELDS, PRODUCTS, REGIONS

EMPTY: dict = {}


def available() -> str | None:
    """None if portal.conditions is importable with the spec's API, else why not."""
    try:
        import portal.conditions as pc
    except Exception as exc:  # noqa: BLE001 - any import failure means "not there yet"
        return f"portal.conditions: {exc.__class__.__name__}: {exc}"
    missing = [n for n in ("RuleSetMatcher", "compile_to_python", "validate", "fold") if not hasattr(pc, n)]
    return f"portal.conditions lacks {', '.join(missing)}" if missing else None


def catalogue():
    """standard_catalogue() plus the benchmark's custom fields (spec: Catalogue(custom=[CustomFieldSpec])."""
    import portal.conditions as pc
    from portal.conditions import fields as pf
    spec_cls = getattr(pf, "CustomFieldSpec")
    choices = {"product": PRODUCTS, "region": REGIONS}
    custom = []
    for key, ftype in CUSTOM_FIELDS.items():
        kwargs = {}
        if key in choices:
            kwargs["choices_by_department"] = {d: list(choices[key]) for d in range(1, 6)}
        custom.append(spec_cls(key, ftype, key.replace("_", " ").title(), **kwargs))
    catalogue_cls = getattr(pc, "Catalogue", None) or getattr(pf, "Catalogue")
    return catalogue_cls(custom=custom)


def validate_rules(rules, cat) -> list[str]:
    from portal.conditions import validate
    out = []
    for key, cond in rules:
        for err in validate(cond, cat, context="event"):
            out.append(f"rule {key}: {getattr(err, 'path', '?')!r}: {getattr(err, 'message', err)}")
    return out


def make_matcher(rules, cat):
    from portal.conditions import RuleSetMatcher
    matcher = RuleSetMatcher(list(rules), cat)
    match_all = matcher.match_all

    def fire(snap):
        return match_all(snap, EMPTY)
    return fire, matcher


def make_compiled(rules, cat):
    from portal.conditions import compile_to_python
    preds = [(key, compile_to_python(cond, cat)) for key, cond in rules]

    def fire(snap):
        return [key for key, p in preds if p(snap, EMPTY)]
    return fire


def engine_fold():
    from portal.conditions import fold
    return fold
