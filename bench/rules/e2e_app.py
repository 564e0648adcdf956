"""The app the end-to-end benchmark's workers load: `flask --app e2e_app worker` (PYTHONPATH=bench/rules).

The production app (wsgi.py) plus what the benchmark desk needs in every process:
- the custom fields its rules use (cf.order_total, cf.product, ...) are real fields since issue #4:
  e2e.py defines them through portal.fields.services, and every process reads them from the database;
- `noop()`, the job RQ's own throughput is measured with (same worker class, same queue).
"""
from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from portal import create_app as create_portal_app  # noqa: E402


def noop() -> None:
    return None


def create_app():
    return create_portal_app()
