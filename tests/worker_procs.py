"""Real `flask worker` processes for the integration tests (PostgreSQL + Redis).

A worker process must share the test's database and Redis, so these tests run on PostgreSQL only.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from portal.extensions import db
from portal.models import OutboxEvent

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT = 90
needs_postgres_and_redis = pytest.mark.skipif(
    not (os.environ.get("TEST_DATABASE_URL") and os.environ.get("TEST_REDIS_URL")),
    reason="needs TEST_DATABASE_URL and TEST_REDIS_URL (PostgreSQL and Redis)")


def worker_env(app, tmp_path) -> dict:
    env = dict(os.environ)
    for name in ("DESKWRIGHT_ENV", "QUEUE_MODE", "FLASK_APP"):
        env.pop(name, None)
    env.update(DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=app.config["REDIS_URL"],
               SECRET_KEY="test-secret-key", INSTANCE_PATH=str(tmp_path / "worker-instance"),
               PYTHONUNBUFFERED="1")
    return env


def start_worker(app, tmp_path, flask_app: str = "wsgi", *, burst: bool = False) -> subprocess.Popen:
    args = [sys.executable, "-m", "flask", "--app", flask_app, "worker"] + (["--burst"] if burst else [])
    # Output to a file (a full pipe would stall the worker); read back by stop().
    log = (tmp_path / f"worker-{time.monotonic_ns()}.log").open("w")
    # A session of its own: RQ's scheduler is a child of the worker; stop() ends both by this group id.
    proc = subprocess.Popen(args, cwd=ROOT, env=worker_env(app, tmp_path), stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL, start_new_session=True)
    proc.log = log
    return proc


def stop(proc: subprocess.Popen) -> str:
    """Warm shutdown (SIGTERM) of a worker we started, if still running; then its output."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    proc.log.close()
    return Path(proc.log.name).read_text()


def wait_for(predicate, what: str, procs=(), timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        for proc in procs:
            if proc.poll() is not None:
                pytest.fail(f"worker exited early ({proc.returncode}) while waiting for {what}:\n{stop(proc)}")
        time.sleep(0.2)
    outputs = "\n---\n".join(stop(p) for p in procs)
    pytest.fail(f"timed out waiting for {what}\n{outputs}")


def event_rows(ids) -> list[OutboxEvent]:
    db.session.rollback()  # end the test's transaction: see what the workers committed
    db.session.expire_all()
    return list(db.session.scalars(select(OutboxEvent).where(OutboxEvent.id.in_(ids)).order_by(OutboxEvent.id)))
