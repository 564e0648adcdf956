"""Browser tests: a live Deskwright on a seeded SQLite desk, driven by Debian's Chromium.

Fixture names are live_* so they never clash with tests/conftest.py (which may define `app`).
"""
from __future__ import annotations

import os
import shutil
import sys

import pytest
from playwright.sync_api import expect

sys.path.insert(0, os.path.dirname(__file__))
from desk import ADMIN, ADMIN_ZH, CHROMIUM, CHROMIUM_ARGS, PASSWORD, Desk, LiveServer, login, make_live_app, seeded_db  # noqa: E402,E501

# Small, so the oversized-attachment journeys need only a 30 KB file.
MAX_ATTACHMENT_BYTES = 20_000


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # pytest-playwright has no option for an executable path; Playwright's own download is unreachable here.
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory) -> tuple[str, Desk]:
    """The desk, seeded once per session; each test gets its own copy of the database file."""
    folder = tmp_path_factory.mktemp("desk-template")
    desk = seeded_db(str(folder))
    return str(folder / "e2e.db"), desk


@pytest.fixture()
def desk(seeded_template) -> Desk:
    return seeded_template[1]


@pytest.fixture()
def live_app(seeded_template, tmp_path):
    shutil.copy(seeded_template[0], tmp_path / "e2e.db")
    return make_live_app(str(tmp_path), MAX_ATTACHMENT_BYTES=MAX_ATTACHMENT_BYTES)


@pytest.fixture()
def admin_desk(live_app):
    """The seeded desk plus two admins, ADMIN (English) and ADMIN_ZH (Chinese, Shanghai time)."""
    from portal.extensions import db
    from portal.models import Department
    from portal.services.accounts import create_user

    with live_app.app_context():
        returns = db.session.scalar(db.select(Department).filter_by(name="Returns"))
        create_user(email=ADMIN, password=PASSWORD, name="Ada Admin", role="admin", departments=[returns])
        create_user(email=ADMIN_ZH, password=PASSWORD, name="安管理", role="admin", departments=[returns],
                    language="zh_Hans", timezone="Asia/Shanghai")
        db.session.commit()
        db.engine.dispose()
    return live_app


@pytest.fixture()
def live_server(live_app):
    server = LiveServer(live_app).start()
    yield server
    server.stop()


@pytest.fixture()
def page(page):
    """pytest-playwright's page, with shorter waits: everything here is local and small."""
    page.set_default_timeout(10_000)
    page.set_default_navigation_timeout(10_000)
    return page


@pytest.fixture(scope="session")
def _session_cookies() -> dict:
    return {}


@pytest.fixture()
def agent_page(page, live_server, desk, _session_cookies):
    """A page signed in as the Returns agent, on the queue.

    The first use signs in through the form; later tests reuse its cookies (each test's desk is
    a copy of the same seed with the same secret key, and cookies for 127.0.0.1 ignore the port).
    That skips an argon2 check per test; test_agent_journey still signs in through the form.
    """
    if desk.returns_agent in _session_cookies:
        page.context.add_cookies(_session_cookies[desk.returns_agent])
        page.goto(live_server.url + "/tickets")
    else:
        login(page, live_server.url, desk.returns_agent)
        _session_cookies[desk.returns_agent] = page.context.cookies()
    expect(page.locator("#queue-results")).to_be_visible()
    return page
