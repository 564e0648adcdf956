"""The database's own floor for an API ticket: the statements an API creation sends (a returning
contact: token, departments, layout, contact, ticket, first thread, outbox event, six History rows,
commit), replayed with psycopg directly (prepared, no ORM, no Flask, no HTTP), against the bare
route's one INSERT and commit, on the same connection, interleaved over 5 rounds; medians.

    .venv/bin/python bench/api/run.py --rounds 1 --seconds 2 --clients 1   # creates the database
    .venv/bin/python bench/api/db_floor.py

Whatever the application does in Python comes on top of the "api statements" figure: it bounds the
API / bare ratio from above (see docs/api.md, "Performance").
"""
import json
import statistics
import sys
import time

import psycopg

URL = sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/deskwright_bench_api"
BODY = "The box was crushed. " * 8
HISTORY = ("subject", "status", "priority", "channel", "department", "contact")
ROUNDS, PER_ROUND, WARM_UP = 5, 500, 200

BARE_INSERT = "INSERT INTO bench_bare (subject, body, email) VALUES (%s, %s, %s) RETURNING id"
READS = [  # what the API reads before it writes (a returning contact)
    ("SELECT api_tokens.*, users.* FROM api_tokens JOIN users ON users.id = api_tokens.user_id "
     "WHERE token_hash = %(token)s"),
    "SELECT * FROM departments ORDER BY name",
    ("SELECT * FROM layouts WHERE department_id = %(dept)s OR department_id IS NULL "
     "ORDER BY department_id IS NULL LIMIT 1"),
    ("SELECT contacts.*, ci.* FROM contacts JOIN contact_identities ci ON ci.contact_id = contacts.id "
     "WHERE contacts.id = %(contact)s"),
]
TICKET_INSERT = (
    "INSERT INTO tickets (subject, status, priority, channel, department_id, contact_id, custom_fields, version, "
    "created_at, updated_at, thread_count, last_customer_reply_at, search_text) "
    "VALUES (%s, 'new', 2, 'api', %s, %s, '{}', 1, now(), now(), 1, now(), %s) RETURNING id")
THREAD_INSERT = ("INSERT INTO threads (ticket_id, kind, channel, body_html, body_text, contact_id, created_at) "
                 "VALUES (%s, 'customer', 'api', %s, %s, %s, now()) RETURNING id")
EVENT_INSERT = ("INSERT INTO outbox_events (kind, ticket_id, payload, status, attempts, created_at, enqueued_at) "
                "VALUES ('ticket.created', %s, %s, 'pending', 0, now(), now()) RETURNING id")
HISTORY_INSERT = ("INSERT INTO ticket_events (ticket_id, outbox_id, field, new_value, version, created_at) "
                  "VALUES (%s, %s, %s, %s, 1, now())")


def desk(cur) -> dict:
    """The department, token and (returning) contact the bench database has; a contact if none."""
    cur.execute("SELECT id FROM departments LIMIT 1")
    dept = cur.fetchone()[0]
    cur.execute("SELECT token_hash FROM api_tokens LIMIT 1")
    token = cur.fetchone()[0]
    cur.execute("SELECT id FROM contacts LIMIT 1")
    row = cur.fetchone()
    if row is None:
        cur.execute("INSERT INTO contacts (name, language, timezone, created_at) "
                    "VALUES ('Floor', 'en', 'UTC', now()) RETURNING id")
        row = cur.fetchone()
        cur.execute("INSERT INTO contact_identities (contact_id, kind, value) "
                    "VALUES (%s, 'email', 'floor@example.com')",
                    row)
    return {"dept": dept, "token": token, "contact": row[0]}


def main() -> None:
    conn = psycopg.connect(URL, prepare_threshold=0)
    cur = conn.cursor()
    known = desk(cur)
    conn.commit()

    def bare(i: int) -> None:
        cur.execute(BARE_INSERT, (f"Order {i}", BODY, "a@example.com"))
        cur.fetchone()
        conn.commit()

    def api(i: int) -> None:
        for statement in READS:
            cur.execute(statement, known)
            cur.fetchall()
        cur.execute(TICKET_INSERT, (f"Order {i}", known["dept"], known["contact"], f"Order {i}\n{BODY}"))
        ticket = cur.fetchone()[0]
        cur.execute(THREAD_INSERT, (ticket, f"<p>{BODY}</p>", BODY, known["contact"]))
        thread = cur.fetchone()[0]
        cur.execute(EVENT_INSERT, (ticket, json.dumps({"thread_id": thread})))
        event = cur.fetchone()[0]
        cur.executemany(HISTORY_INSERT, [(ticket, event, field, "x") for field in HISTORY])
        conn.commit()

    for run in (bare, api):
        for i in range(WARM_UP):
            run(i)
    ms: dict[str, list[float]] = {"bare": [], "api": []}
    for _round in range(ROUNDS):
        for name, run in (("bare", bare), ("api", api)):
            start = time.perf_counter()
            for i in range(PER_ROUND):
                run(i)
            ms[name].append((time.perf_counter() - start) / PER_ROUND * 1000)
    b, a = statistics.median(ms["bare"]), statistics.median(ms["api"])
    print(f"bare {b:.3f} ms, api statements {a:.3f} ms, ratio bare/api {b / a:.2f}")


if __name__ == "__main__":
    main()
