"""Shared test set-up: an app per test on a fresh database, a client, login and CSRF helpers.

Databases
- SQLite by default: the real migrations (`flask db upgrade`) run once per session into a
  template file, which every test gets a fresh copy of (a copy costs ~1 ms, an upgrade ~70 ms).
- PostgreSQL as well, for tests marked `integration`, when TEST_DATABASE_URL is set
  (e.g. postgresql://postgres@127.0.0.1/test): such a test runs twice, ids `[sqlite]` and
  `[postgresql]`. Each pytest session migrates into its own schema (`dw_test_<pid>_<hex>`,
  picked through the connection's search_path, so runs sharing a database never collide) and
  empties every table and restarts the ids before each test (see PgDatabase.clean). A module
  can set `DB_BACKENDS = ("postgresql",)` to run only there.

The queue runs in "sync" mode: an outbox event is processed inline right after commit, in a
fresh app context with its own session, as a worker would. `held_events` stops that so a
test can process events by hand.

Fixtures: `app` (with an app context pushed for the test: call services directly),
`make_app(**config)` (more apps on the same database, e.g. with REDIS_URL), `app_config`
(override in a module to change the `app` fixture's config), `client` (each request in a
context of its own, see IsolatedClient), `db_session`, `login`, `csrf_token`, `subscriber`,
`held_events`, `request_ctx`, `redis_url`. Object factories are in factories.py.

CSRF stays enabled: post forms with `csrf_token(client, url)` scraped from the page, or sign
in with `login(client, user)`.
"""
from __future__ import annotations

import contextvars
import logging
import os
import shutil
import sqlite3
import uuid
import warnings
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, event, make_url, text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from portal import create_app
from portal import events as portal_events
from portal.config import normalise_db_url
from portal.extensions import db

import factories
from smtp_sink import smtp_sink

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL") or None
TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL") or None
SCHEMA_PREFIX = "dw_test_"


# ------------------------------------------------------------------------------------------
# Backend parametrisation
# ------------------------------------------------------------------------------------------
def pytest_generate_tests(metafunc):
    if "db_backend" not in metafunc.fixturenames:
        return
    backends = getattr(metafunc.module, "DB_BACKENDS", None)
    if backends is None:
        if not (TEST_DATABASE_URL and metafunc.definition.get_closest_marker("integration")):
            return  # plain SQLite, no parameter id
        backends = ("sqlite", "postgresql")
    metafunc.parametrize("db_backend", list(backends), indirect=True)


@pytest.fixture
def db_backend(request) -> str:
    """"sqlite" or "postgresql" (see pytest_generate_tests)."""
    return getattr(request, "param", "sqlite")


@event.listens_for(Engine, "connect")
def _sqlite_without_fsync(dbapi_connection, _record):
    """Test databases are thrown away: skip SQLite's fsync per commit (each outbox event commits)."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous = OFF")


# ------------------------------------------------------------------------------------------
# Migrations
# ------------------------------------------------------------------------------------------
@contextmanager
def _keep_logging():
    """Alembic's env.py calls logging.fileConfig, which disables every existing logger (so
    caplog would never see `portal.*`) and replaces the root handlers (pytest's capture).
    Put everything back afterwards."""
    manager = logging.Logger.manager
    saved = {name: (lg.disabled, lg.level, lg.handlers[:], lg.propagate)
             for name, lg in list(manager.loggerDict.items()) if isinstance(lg, logging.Logger)}
    root = logging.getLogger()
    root_state = (root.level, root.handlers[:])
    try:
        yield
    finally:
        for name, lg in list(manager.loggerDict.items()):
            if not isinstance(lg, logging.Logger):
                continue
            disabled, level, handlers, propagate = saved.get(name, (False, logging.NOTSET, [], True))
            lg.disabled, lg.propagate = disabled, propagate
            lg.setLevel(level)
            lg.handlers[:] = handlers
        root.setLevel(root_state[0])
        root.handlers[:] = root_state[1]


def _upgrade(database_uri: str, tmp_dir) -> None:
    """Run the real migrations (flask db upgrade) against `database_uri`."""
    import flask_migrate

    app = create_app(_base_config(database_uri, tmp_dir))
    with _keep_logging(), warnings.catch_warnings(), app.app_context():
        # migrations/env.py's get_engine() calls Flask-SQLAlchemy's deprecated db.get_engine()
        # first; harmless, but filterwarnings=error would turn it into a failure.
        warnings.filterwarnings("ignore", message=r".get_engine. is deprecated", category=DeprecationWarning)
        flask_migrate.upgrade()
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def _base_config(database_uri: str, tmp_dir) -> dict:
    return {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "QUEUE_MODE": "sync",
        "REDIS_URL": None,  # never the developer's REDIS_URL from the environment
        "SQLALCHEMY_DATABASE_URI": database_uri,
        "ATTACHMENT_DIR": str(tmp_dir / "attachments"),
        "SERVER_NAME": None,
    }


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.db"
    _upgrade(f"sqlite:///{path}", folder)
    return path


@dataclass
class PgDatabase:
    url: str                  # SQLAlchemy URL, search_path set to this session's schema
    schema: str
    delete_order: list[str]   # every table, referencing tables before the tables they reference
    sequences: list[str]
    admin: object             # an AUTOCOMMIT engine for set-up and cleaning

    def clean(self) -> None:
        """Empty every table and restart the ids, like TRUNCATE ... RESTART IDENTITY CASCADE.

        DELETE + setval on a test's handful of rows takes ~4 ms; TRUNCATE of the ~20 tables
        takes ~180 ms (it swaps every table's files), which over a few hundred tests adds up.
        """
        statements = [f'DELETE FROM "{self.schema}"."{t}"' for t in self.delete_order]
        statements += [f"SELECT setval('\"{self.schema}\".\"{q}\"', 1, false)" for q in self.sequences]
        # Indexes made at run time for filterable custom fields (portal/fields/indexes.py) are DDL,
        # which DELETE leaves behind: the next test would find another test's index.
        statements.append(
            "DO $$DECLARE found record; BEGIN FOR found IN SELECT indexname FROM pg_indexes "
            f"WHERE schemaname = '{self.schema}' AND starts_with(indexname, 'ix_tickets_cf_') LOOP "
            f"EXECUTE 'DROP INDEX \"{self.schema}\".' || quote_ident(found.indexname); END LOOP; END$$")
        with self.admin.connect() as conn:
            conn.execute(text("SET lock_timeout = '15s'"))  # a leaked session fails loudly, not forever
            conn.execute(text("; ".join(statements)))


def _delete_order(conn, schema: str) -> list[str]:
    """Tables of `schema` ordered so that each comes before the tables it references."""
    tables = list(conn.scalars(text(
        "SELECT tablename FROM pg_tables WHERE schemaname = :s AND tablename <> 'alembic_version' "
        "ORDER BY tablename"), {"s": schema}))
    refs = {t: set() for t in tables}  # table -> tables it references
    for child, parent in conn.execute(text(
            "SELECT c.relname, p.relname FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid "
            "JOIN pg_class p ON p.oid = k.confrelid JOIN pg_namespace n ON n.oid = k.connamespace "
            "WHERE k.contype = 'f' AND n.nspname = :s"), {"s": schema}):
        if child in refs and parent != child:
            refs[child].add(parent)
    order: list[str] = []
    while refs:
        # a table nothing left references can go first
        free = sorted(t for t in refs if not any(t in parents for other, parents in refs.items() if other != t))
        if not free:
            raise RuntimeError(f"foreign keys form a cycle among {sorted(refs)}")
        order += free
        for t in free:
            del refs[t]
    return order


def _drop_orphan_schemas(conn) -> None:
    """Schemas left by killed test runs on this machine (their pid is gone)."""
    for (name,) in conn.execute(text("SELECT nspname FROM pg_namespace WHERE nspname LIKE :p"),
                                {"p": SCHEMA_PREFIX + "%"}):
        try:
            pid = int(name[len(SCHEMA_PREFIX):].split("_")[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        except (ValueError, PermissionError):
            continue


def _trgm_schema(conn) -> str:
    query = text("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                 "WHERE e.extname = 'pg_trgm'")
    found = conn.scalar(query)
    if found:
        return found
    try:
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
    except DBAPIError:  # another run created it at the same moment
        pass
    return conn.scalar(query) or "public"


@pytest.fixture(scope="session")
def _pg_database(tmp_path_factory):
    if not TEST_DATABASE_URL:
        pytest.skip("TEST_DATABASE_URL is not set")
    base = make_url(normalise_db_url(TEST_DATABASE_URL))
    admin = create_engine(base, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    schema = f"{SCHEMA_PREFIX}{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with admin.connect() as conn:
        _drop_orphan_schemas(conn)
        ext_schema = _trgm_schema(conn)
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    search_path = schema if ext_schema == schema else f"{schema},{ext_schema}"
    # synchronous_commit=off: a commit doesn't wait for the WAL flush (each outbox event commits);
    # the data is thrown away after the run anyway.
    options = f"-csearch_path={search_path} -csynchronous_commit=off"
    url = base.update_query_dict({"options": options}).render_as_string(hide_password=False)
    try:
        _upgrade(url, tmp_path_factory.mktemp("pg"))
        with admin.connect() as conn:
            delete_order = _delete_order(conn, schema)
            sequences = list(conn.scalars(text(
                "SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = :s "
                "ORDER BY sequence_name"), {"s": schema}))
        yield PgDatabase(url=url, schema=schema, delete_order=delete_order, sequences=sequences, admin=admin)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def database_url(db_backend, request, tmp_path) -> str:
    """A migrated, empty database for this test."""
    if db_backend == "postgresql":
        pg: PgDatabase = request.getfixturevalue("_pg_database")
        pg.clean()
        return pg.url
    path = tmp_path / "test.db"
    shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
    return f"sqlite:///{path}"


# ------------------------------------------------------------------------------------------
# Apps and clients
# ------------------------------------------------------------------------------------------
class IsolatedClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in a real server.

    Flask reuses an already pushed app context for a request, so with the `app` fixture's
    context pushed, requests would otherwise share the test's database session and `g`
    (Flask-Login's cached user). Each request here runs in an empty contextvars.Context,
    so it gets a fresh app context, session and `g`, and its teardown runs.

    Like a browser, a request only sees committed data: the test's session is committed
    first (this also keeps SQLite from locking on the test's open write transaction).
    Use `with client:` only without the `app` fixture's context; it is not isolated.
    """

    def open(self, *args, **kwargs):
        if self.preserve_context:
            return super().open(*args, **kwargs)
        if has_app_context():
            db.session.commit()
        return contextvars.Context().run(super().open, *args, **kwargs)


@pytest.fixture
def app_config() -> dict:
    """Extra config for the `app` fixture; override this fixture in a module to change it."""
    return {}


@pytest.fixture
def make_app(database_url, tmp_path, monkeypatch):
    """Build an app on this test's database: `make_app(REDIS_URL=...)`. Engines are closed after."""
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path / "instance"))
    made = []

    def factory(**overrides):
        config = _base_config(database_url, tmp_path)
        config.update(overrides)
        new_app = create_app(config)
        new_app.test_client_class = IsolatedClient
        made.append(new_app)
        return new_app

    yield factory
    for made_app in made:
        with made_app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def app(make_app, app_config):
    """The app, with an app context pushed for the whole test (services can be called directly)."""
    the_app = make_app(**app_config)
    ctx = the_app.app_context()
    ctx.push()
    try:
        yield the_app
    finally:
        db.session.remove()
        ctx.pop()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def request_ctx(app):
    """A test request context around the test, as a view has (request, session, current_user).
    Services don't need one: they run in workers and CLI commands too."""
    with app.test_request_context():
        yield


@pytest.fixture
def db_session(app):
    """The test's database session (the same `db.session` the services use)."""
    return db.session


@pytest.fixture(name="login")
def login_fixture():
    """`login(client, user)`: sign in through the real /login form (with its CSRF token)."""
    return factories.login


@pytest.fixture(name="csrf_token")
def csrf_token_fixture():
    """`csrf_token(client, url)`: the CSRF token from the form on `url`."""
    return factories.csrf_token


# ------------------------------------------------------------------------------------------
# Outbox helpers
# ------------------------------------------------------------------------------------------
@pytest.fixture
def subscriber():
    """`subscriber(name, handler, kinds=())` registers an outbox subscriber for this test only."""
    names: list[str] = []

    def register(name, handler, kinds=()):
        portal_events.subscribe(name, tuple(kinds))(handler)
        names.append(name)
        return handler

    yield register
    for name in names:
        portal_events.unsubscribe(name)


@pytest.fixture
def held_events(app, monkeypatch) -> list[int]:
    """Stop the sync queue from processing events at commit; the ids collect in this list instead."""
    held: list[int] = []
    monkeypatch.setattr(app.extensions["deskwright_queue"], "enqueue_events", held.extend)
    return held


@pytest.fixture
def redis_url() -> str:
    """TEST_REDIS_URL, flushed before and after the test (use a dedicated db number, e.g. /15)."""
    if not TEST_REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set")
    from redis import Redis

    conn = Redis.from_url(TEST_REDIS_URL)
    conn.flushdb()
    yield TEST_REDIS_URL
    conn.flushdb()
    conn.close()


@pytest.fixture
def smtp_server(app):
    """A real SMTP server on 127.0.0.1 that the app's MAIL_SERVER points at (see smtp_sink.py)."""
    with smtp_sink() as inbox:
        app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=inbox.port)
        yield inbox
