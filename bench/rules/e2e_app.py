"""The app the end-to-end benchmark's workers load: `flask --app e2e_app worker` (PYTHONPATH=bench/rules).

The production app (wsgi.py) plus what the benchmark desk needs in every process:
- the custom fields its rules use (cf.order_total, cf.product, ...), registered through
  portal.conditions.register_custom_field_provider (issue #4 will provide real ones);
- `noop()`, the job RQ's own throughput is measured with (same worker class, same queue).
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from portal import create_app as create_portal_app  # noqa: E402


def noop() -> None:
    return None


def register_custom_fields() -> bool:
    """Register the benchmark's custom fields with the condition catalogue, if the hook exists."""
    try:
        from portal.conditions import register_custom_field_provider
        from portal.conditions.fields import CustomFieldSpec
    except ImportError:
        return False
    from common import CUSTOM_FIELDS, PRODUCTS, REGIONS
    choices = {"product": PRODUCTS, "region": REGIONS}

    def provider():
        out = []
        for key, ftype in CUSTOM_FIELDS.items():
            kwargs = {}
            if key in choices:
                kwargs["choices_by_department"] = {d: list(choices[key]) for d in range(1, 6)}
            out.append(CustomFieldSpec(key, ftype, key.replace("_", " ").title(), **kwargs))
        return out
    register_custom_field_provider(provider)
    return True


def create_app():
    app = create_portal_app()
    app.config["BENCH_CUSTOM_FIELDS"] = register_custom_fields()
    return app
