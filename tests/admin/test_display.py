"""Shift labels on the agents page, in English and Chinese."""
from datetime import time
from types import SimpleNamespace

import pytest
from flask_babel import force_locale

from portal.admin.display import days_label, shift_label
from portal.admin.services import parse_skills


@pytest.mark.parametrize("days, label", [
    ("12345", "Mon–Fri"), ("1234567", "every day"), ("67", "Sat/Sun"), ("135", "Mon/Wed/Fri"),
    ("12357", "Mon–Wed/Fri/Sun"), ("", ""), ("54321", "Mon–Fri"),
])
def test_days_label(request_ctx, days, label):
    assert days_label(days) == label


def test_shift_label(request_ctx):
    agent = SimpleNamespace(shift_start=time(9), shift_end=time(18), shift_days="12345", timezone="Asia/Shanghai")
    assert shift_label(agent) == "09:00–18:00 Mon–Fri, Asia/Shanghai"
    agent.timezone = "America/New_York"
    assert shift_label(agent) == "09:00–18:00 Mon–Fri, America/New York"
    assert shift_label(SimpleNamespace(shift_start=None, shift_end=None)) == "No shift set"


def test_days_in_chinese(request_ctx):
    with force_locale("zh_Hans"):
        assert days_label("12345") == "周一–周五"


def test_parse_skills():
    assert parse_skills(" billing, 退款、VIP；vip,,  Live  chat \n") == ["billing", "退款", "VIP", "Live chat"]
    assert parse_skills("") == [] and parse_skills(None) == []
