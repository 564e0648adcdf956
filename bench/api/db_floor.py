"""The database's own floor for an API ticket: the statements an API creation sends (a returning
contact: token, departments, layout, contact, ticket, first thread, outbox event, six History rows,
commit), replayed with psycopg directly (prepared, no ORM, no Flask, no HTTP), against the bare
route's one INSERT and commit, on the same connection, interleaved over 5 rounds; medians.

    .venv/bin/python bench/api/run.py --rounds 1 --seconds 2 --clients 1   # creates the database
    .venv/bin/python bench/api/db_floor.py

Whatever the application does in Python comes on top of the "api statements" figure: it bounds the
API / bare ratio from above (see docs/api.md, "Performance").
"""
import json, statistics, time, psycopg
import sys
URL = sys.argv[1] if len(sys.argv) > 1 else "postgresql://postgres@127.0.0.1:5432/deskwright_bench_api"
conn = psycopg.connect(URL, prepare_threshold=0)
cur = conn.cursor()
cur.execute("select id from departments limit 1"); dept = cur.fetchone()[0]
cur.execute("select id, token_hash from api_tokens limit 1"); tok_id, tok_hash = cur.fetchone()
cur.execute("select id from contacts limit 1"); row = cur.fetchone()
if row is None:
    cur.execute("INSERT INTO contacts (name, language, timezone, created_at) VALUES ('Floor', 'en', 'UTC', now()) RETURNING id")
    row = cur.fetchone()
    cur.execute("INSERT INTO contact_identities (contact_id, kind, value) VALUES (%s, 'email', 'floor@example.com')", row)
contact = row[0]
conn.commit()
body = "The box was crushed. " * 8
def bare(i):
    cur.execute("INSERT INTO bench_bare (subject, body, email) VALUES (%s, %s, %s) RETURNING id", (f"Order {i}", body, "a@example.com"))
    cur.fetchone(); conn.commit()
def api(i):
    cur.execute("SELECT api_tokens.*, users.* FROM api_tokens JOIN users ON users.id = api_tokens.user_id WHERE token_hash = %s", (tok_hash,)); cur.fetchall()
    cur.execute("SELECT * FROM departments ORDER BY name"); cur.fetchall()
    cur.execute("SELECT * FROM layouts WHERE department_id = %s OR department_id IS NULL ORDER BY department_id IS NULL LIMIT 1", (dept,)); cur.fetchall()
    cur.execute("SELECT contacts.*, ci.* FROM contacts JOIN contact_identities ci ON ci.contact_id = contacts.id WHERE contacts.id = %s", (contact,)); cur.fetchall()
    cur.execute("""INSERT INTO tickets (subject, status, priority, channel, department_id, contact_id, custom_fields, version, created_at, updated_at, thread_count, last_customer_reply_at, search_text)
      VALUES (%s, 'new', 2, 'api', %s, %s, '{}', 1, now(), now(), 1, now(), %s) RETURNING id""", (f"Order {i}", dept, contact, f"Order {i}\n" + body))
    tid = cur.fetchone()[0]
    cur.execute("INSERT INTO threads (ticket_id, kind, channel, body_html, body_text, contact_id, created_at) VALUES (%s, 'customer', 'api', %s, %s, %s, now()) RETURNING id", (tid, "<p>" + body + "</p>", body, contact))
    th = cur.fetchone()[0]
    cur.execute("INSERT INTO outbox_events (kind, ticket_id, payload, status, attempts, created_at, enqueued_at) VALUES ('ticket.created', %s, %s, 'pending', 0, now(), now()) RETURNING id", (tid, json.dumps({"thread_id": th})))
    ev = cur.fetchone()[0]
    cur.executemany("INSERT INTO ticket_events (ticket_id, outbox_id, field, new_value, version, created_at) VALUES (%s, %s, %s, %s, 1, now())", [(tid, ev, f, "x") for f in ("subject", "status", "priority", "channel", "department", "contact")])
    conn.commit()
for f in (bare, api):
    for i in range(200): f(i)
res = {"bare": [], "api": []}
for r in range(5):
    for name, f in (("bare", bare), ("api", api)):
        t = time.perf_counter()
        for i in range(500): f(i)
        res[name].append((time.perf_counter() - t) / 500 * 1000)
b, a = statistics.median(res["bare"]), statistics.median(res["api"])
print(f"bare {b:.3f} ms, api statements {a:.3f} ms, ratio bare/api {b/a:.2f}")
