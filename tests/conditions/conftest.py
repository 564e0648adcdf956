"""One ticket pool per test module and backend, built once (a pool takes ~1 s to make).

`pool_app` is module-scoped: an app on its own database (a copy of the migrated SQLite template, or
this session's PostgreSQL schema) with an app context pushed, and the pool made in one transaction
that is never committed (so no outbox processing) and rolled back at the end. Tests that use it and
are marked `integration` run on both backends when TEST_DATABASE_URL is set, like the shared `app`.
"""
from __future__ import annotations

import os
import shutil

import pytest

from portal import create_app
from portal.extensions import db

from .pool import build_pool

BACKENDS = ["sqlite", "postgresql"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]


@pytest.fixture(scope="module", params=BACKENDS)
def pool_app(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("conditions")
    if request.param == "postgresql":
        pg = request.getfixturevalue("_pg_database")
        pg.clean()
        url = pg.url
    else:
        path = folder / "pool.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        url = f"sqlite:///{path}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("INSTANCE_PATH", str(folder / "instance"))
        # as tests/conftest.py's _base_config (a module named "conftest" can't be imported reliably)
        app = create_app({"TESTING": True, "SECRET_KEY": "test-secret-key", "QUEUE_MODE": "sync", "REDIS_URL": None,
                          "SQLALCHEMY_DATABASE_URI": url, "ATTACHMENT_DIR": str(folder / "attachments"),
                          "SERVER_NAME": None})
    ctx = app.app_context()
    ctx.push()
    try:
        yield app
    finally:
        db.session.rollback()
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
        ctx.pop()


@pytest.fixture(scope="module")
def pool_data(pool_app):
    return build_pool()


@pytest.fixture
def pool(pool_data):
    """The pool, in a savepoint per test: a failed statement or a change stays in its test."""
    savepoint = db.session.begin_nested()
    yield pool_data
    if savepoint.is_active:
        savepoint.rollback()
