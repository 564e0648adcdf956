"""Where an outbox event's time goes, in one process, on the database e2e.py left behind.

    .venv/bin/python bench/rules/e2e.py --tickets 500 --noop-jobs 5000      # once: the desk and its rules
    .venv/bin/python bench/rules/e2e_profile.py -n 300                      # batches of 50 (OUTBOX_BATCH)
    .venv/bin/python bench/rules/e2e_profile.py -n 300 --batch 1 --show     # one event a batch, statements listed
    .venv/bin/python bench/rules/e2e_profile.py -n 300 --single             # portal.jobs.process_event, one by one
    .venv/bin/python bench/rules/e2e_profile.py -n 300 --cprofile

Creates N more tickets through the ticket service (their events held, not queued), then runs their
events through portal.jobs.process_events in batches (or process_event one by one) in this process,
no RQ: ms per event (wall), SQL statements per event, this process's CPU and the CPU of the
PostgreSQL backends connected to the bench database (from /proc), per event.
"""
from __future__ import annotations

import argparse
import collections
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent.parent))

import e2e  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", default=os.environ.get("BENCH_RULES_DATABASE_URL", e2e.DEFAULT_URL))
    ap.add_argument("-n", type=int, default=300, help="tickets (events) to create and run")
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--single", action="store_true", help="process_event one by one instead of batches")
    ap.add_argument("--show", action="store_true", help="list the statements, per event")
    ap.add_argument("--cprofile", action="store_true")
    args = ap.parse_args()
    url = args.url.replace("postgresql://", "postgresql+psycopg://", 1)
    database = url.rsplit("/", 1)[1]
    os.environ.update(e2e.worker_env(url, None))
    os.environ["QUEUE_MODE"] = "sync"
    import e2e_app
    from gen import make_tickets
    from sqlalchemy import event, text

    from portal import jobs
    from portal.extensions import db

    app = e2e_app.create_app()
    ctx = app.app_context()
    ctx.push()
    held: list[int] = []
    app.extensions["deskwright_queue"].enqueue_events = held.extend
    contacts = dict(enumerate(db.session.execute(text("SELECT id FROM contacts ORDER BY id LIMIT :n"),
                                                 {"n": args.n}).scalars()))
    if len(contacts) < args.n:
        raise SystemExit(f"the bench database has {len(contacts)} contacts: run e2e.py with --tickets >= {args.n}")
    e2e.create_tickets(db, make_tickets(args.n, seed=777), contacts, 0)
    ids = list(held)

    statements: collections.Counter = collections.Counter()

    def count(conn, cursor, statement, parameters, context, executemany):
        statements[" ".join(statement.split())[:120]] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    profile = cProfile.Profile() if args.cprofile else None
    pg0, cpu0, t0 = e2e.cpu_seconds(set(), database)["postgres"], time.process_time(), time.perf_counter()
    if profile:
        profile.enable()
    if args.single:
        for event_id in ids:
            with app.app_context():
                jobs.process_event(event_id)
    else:
        for k in range(0, len(ids), args.batch):
            with app.app_context():
                jobs.process_events(ids[k:k + args.batch])
    if profile:
        profile.disable()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    pg = e2e.cpu_seconds(set(), database)["postgres"] - pg0
    n = len(ids)
    how = "one by one (process_event)" if args.single else f"in batches of {args.batch} (process_events)"
    print(f"{n} events {how}: {wall * 1000 / n:.2f} ms/event wall, {sum(statements.values()) / n:.1f} statements/event; "
          f"CPU per event: this process {cpu * 1000 / n:.2f} ms, PostgreSQL (bench db backends) {pg * 1000 / n:.2f} ms")
    if args.show:
        for statement, times in statements.most_common(40):
            print(f"{times / n:6.2f}  {statement}")
    if profile:
        stats = pstats.Stats(profile)
        stats.sort_stats("cumulative").print_stats(50)
    return 0


if __name__ == "__main__":
    sys.exit(main())
