"""Measure the agent queue against the bench database: p50/p95 per page.

    .venv/bin/python bench/queue_latency.py                   # service layer + HTTP (if the pages render)
    .venv/bin/python bench/queue_latency.py --mode service    # SQL cost only: fetch_page + view_counts
    .venv/bin/python bench/queue_latency.py --mode http -n 200
    .venv/bin/python bench/queue_latency.py --explain         # EXPLAIN (ANALYZE, BUFFERS) of each page's query

Load the database first with bench/seed_million.py. Two users are measured: the admin (sees all
tickets) and agent2@bench.example (one department, Customer Support).

Modes:
  service  In-process, inside an app context: for each request-equivalent, the user is re-loaded
           (as Flask-Login does), then `ticket_list.fetch_page` + `ticket_list.view_counts` run,
           exactly what `agent.views.queue_context` asks of the database for the list and counts.
  http     The real app under gunicorn (2 workers, 127.0.0.1, free port), signed in through
           /login with the CSRF token; one client, sequential requests over loopback, timed
           from request sent to body read. Needs the queue templates to exist.
Scenarios (all sorted by "updated", the default sort):
  default        /tickets                                       (view=open)
  filtered       /tickets?view=open&priority=high&department=1
  search_*       /tickets?view=recent&q=<word>                  (English and Chinese words of
                                                                 different frequencies)
  view_mine      /tickets?view=mine                             (the other built-in views)
  view_unassigned /tickets?view=unassigned
  sort_priority  /tickets?view=open&sort=priority               (the other sorts of the menu)
  sort_due       /tickets?view=open&sort=due
  deep_open      /tickets?view=open&after=<cursor>              (cursor of the ~200th page,
  deep_recent    /tickets?view=recent&after=<cursor>             found by following next_cursor;
                                                                 sent as the htmx "load more")
"""
from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from percentiles import pct  # noqa: E402

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/deskwright_bench"
PASSWORD = "bench-password-1"  # bench/seed_million.py BENCH_PASSWORD
USERS = {"admin": "admin@bench.example", "agent": "agent2@bench.example"}  # agent2: department 1 only
GOAL_MS = 150.0
ONLY: set[str] = set()  # --only: run just these scenarios

# (name, query args). Words chosen by how many of the 1M tickets contain them (seeded data):
SEARCHES = [
    ("search_en_common", "refund"),       # ~40% of tickets: many matches, page fills at once
    ("search_en_mid", "Zephyr"),          # ~4%
    ("search_en_rare", None),             # one order number: a single ticket (filled in at run time)
    ("search_zh_common", "退款"),          # 2 characters, ~22%: no trigram can be extracted
    ("search_zh_mid2", "打印"),            # 2 characters, ~3%
    ("search_zh_rare2", "郭华"),           # 2 characters, rare (a person's name, ~160 tickets)
    ("search_zh_4char", "深色模式"),        # 4 characters, ~1.6%: trigrams work
    ("search_time_skewed", "INV-2024"),   # 2.2%, all in the oldest tickets (worst case for LIMIT plans)
]


def scenarios(order_number: str, dept_id: int) -> list[tuple[str, dict]]:
    out = [("default", {}),
           ("filtered", {"view": "open", "priority": "high", "department": str(dept_id)})]
    for name, word in SEARCHES:
        out.append((name, {"view": "recent", "q": word or order_number}))
    out.append(("view_mine", {"view": "mine"}))
    out.append(("view_unassigned", {"view": "unassigned"}))
    out.append(("sort_priority", {"view": "open", "sort": "priority"}))
    out.append(("sort_due", {"view": "open", "sort": "due"}))
    out.append(("deep_open", {"view": "open", "after": None}))
    out.append(("deep_recent", {"view": "recent", "after": None}))
    # Custom fields (issue #4; seeded by seed_million.py, defined and indexed by bench/fields_setup.py):
    # a picklist whose values differ per department, and a number range; filtered and sorted by them.
    product = "phone_x" if dept_id in (1, 3) else ("subscription" if dept_id == 2 else "express")
    out.append(("cf_picklist", {"view": "open", f"cf.product": product, "sort": "cf.product"}))
    out.append(("cf_picklist_desc", {"view": "open", "cf.product": product, "sort": "cf.product:desc"}))
    out.append(("cf_picklist_updated", {"view": "open", "cf.product": product}))
    out.append(("cf_range", {"view": "open", "cf.order_total.min": "100", "cf.order_total.max": "250",
                             "sort": "cf.order_total"}))
    out.append(("cf_range_desc", {"view": "open", "cf.order_total.min": "100", "cf.order_total.max": "250",
                                  "sort": "cf.order_total:desc"}))
    out.append(("cf_range_rare", {"view": "open", "cf.order_total.min": "20000", "sort": "cf.order_total"}))
    out.append(("cf_sort_only", {"view": "open", "sort": "cf.order_total"}))
    return [(name, args) for name, args in out if not ONLY or name in ONLY]


def summarise(samples: list[float]) -> dict:
    return {"n": len(samples), "p50": pct(samples, 50), "p95": pct(samples, 95), "max": max(samples) if samples else 0}


# ---------------------------------------------------------------------------------------------
def make_app(url: str):
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("SECRET_KEY", "bench")
    os.environ["QUEUE_MODE"] = "sync"
    os.environ.pop("REDIS_URL", None)
    from portal import create_app
    return create_app()


def find_order_number(db) -> str:
    from sqlalchemy import text
    subject = db.session.execute(text(
        "SELECT subject FROM tickets WHERE id = (SELECT max(id) / 3 FROM tickets)")).scalar()
    m = re.search(r"\d{8}", subject or "")
    if m:
        return m.group(0)
    row = db.session.execute(text(
        "SELECT substring(search_text from '[0-9]{8}') FROM tickets WHERE search_text ~ '[0-9]{8}' "
        "AND id > (SELECT max(id) / 3 FROM tickets) ORDER BY id LIMIT 1")).scalar()
    return row


def deep_cursors(app, users: dict, pages: int) -> dict:
    """Follow next_cursor `pages` times for view=open and view=recent, per user."""
    from werkzeug.datastructures import MultiDict
    from portal.extensions import db
    from portal.models import User
    from portal.services import ticket_list
    from sqlalchemy import select
    out = {}
    with app.test_request_context("/tickets"):
        for label, email in users.items():
            user = db.session.scalar(select(User).where(User.email == email))
            for view in ("open", "recent"):
                cursor = None
                t0 = time.perf_counter()
                for _ in range(pages):
                    args = {"view": view, **({"after": cursor} if cursor else {})}
                    page = ticket_list.fetch_page(ticket_list.QueueQuery.from_args(MultiDict(args)), user,
                                                  page_size=app.config["QUEUE_PAGE_SIZE"])
                    db.session.expunge_all()
                    user = db.session.scalar(select(User).where(User.email == email))
                    if not page.next_cursor:
                        break
                    cursor = page.next_cursor
                out[(label, view)] = cursor
                print(f"  {label:5} view={view:6}: followed {pages} pages in {time.perf_counter() - t0:.1f}s "
                      f"-> cursor {cursor}", flush=True)
    return out


def service_bench(app, n: int, warmup: int, cursors: dict, order_number: str, budget_s: float,
                  explain: bool) -> dict:
    from werkzeug.datastructures import MultiDict
    from portal.extensions import db
    from portal.models import User
    from portal.services import ticket_list
    from sqlalchemy import select
    results = {}
    with app.test_request_context("/tickets"):
        for label, email in USERS.items():
            user0 = db.session.scalar(select(User).where(User.email == email))
            dept = 1 if user0.is_admin else user0.department_ids[0]
            for name, args in scenarios(order_number, dept):
                if "after" in args:
                    args = dict(args, after=cursors[(label, args["view"])])
                query_args = MultiDict(args)
                if explain:
                    explain_query(app, db, email, query_args, f"{label}/{name}")
                page_t, count_t, total_t = [], [], []
                t_start = time.perf_counter()
                for i in range(warmup + n):
                    db.session.expunge_all()
                    t0 = time.perf_counter()
                    user = db.session.scalar(select(User).where(User.email == email))
                    _ = user.department_ids  # Flask-Login's user_loader + scoping do this per request
                    q = ticket_list.QueueQuery.from_args(query_args)
                    page = ticket_list.fetch_page(q, user, page_size=app.config["QUEUE_PAGE_SIZE"])
                    t1 = time.perf_counter()
                    ticket_list.view_counts(user)
                    t2 = time.perf_counter()
                    db.session.rollback()
                    if i >= warmup:
                        page_t.append((t1 - t0) * 1000)
                        count_t.append((t2 - t1) * 1000)
                        total_t.append((t2 - t0) * 1000)
                    if time.perf_counter() - t_start > budget_s and i >= warmup + 10:
                        break
                res = {"fetch_page": summarise(page_t), "view_counts": summarise(count_t),
                       "total": summarise(total_t), "rows": len(page.tickets), "load1": os.getloadavg()[0]}
                results[f"{label}/{name}"] = res
                flag = "" if res["total"]["p95"] < GOAL_MS else "  <-- over 150 ms"
                print(f"  {label:5} {name:17} n={res['total']['n']:3} rows={res['rows']:2}  "
                      f"fetch_page p50 {res['fetch_page']['p50']:7.1f} p95 {res['fetch_page']['p95']:7.1f} | "
                      f"view_counts p50 {res['view_counts']['p50']:6.1f} p95 {res['view_counts']['p95']:6.1f} | "
                      f"total p50 {res['total']['p50']:7.1f} p95 {res['total']['p95']:7.1f} ms  load {res['load1']:.1f}{flag}",
                      flush=True)
    return results


def explain_query(app, db, email, query_args, title):
    """EXPLAIN (ANALYZE, BUFFERS) the exact SELECT fetch_page runs (captured from the engine)."""
    from sqlalchemy import event, select
    from portal.models import User
    from portal.services import ticket_list
    captured = []

    def grab(conn, cursor, statement, parameters, context, executemany):
        if "FROM tickets" in statement and "ORDER BY" in statement:
            captured.append((statement, parameters))
    event.listen(db.engine, "before_cursor_execute", grab)
    try:
        user = db.session.scalar(select(User).where(User.email == email))
        ticket_list.fetch_page(ticket_list.QueueQuery.from_args(query_args), user,
                               page_size=app.config["QUEUE_PAGE_SIZE"])
    finally:
        event.remove(db.engine, "before_cursor_execute", grab)
    db.session.rollback()
    if not captured:
        return
    statement, params = captured[-1]
    raw = db.session.connection().connection.dbapi_connection
    with raw.cursor() as cur:
        cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
        plan = "\n".join(r[0] for r in cur.fetchall())
    raw.rollback()
    print(f"\n--- EXPLAIN {title}\n{statement % {k: repr(v) for k, v in (params or {}).items()} if isinstance(params, dict) else statement}\n{plan}\n", flush=True)


# ---------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Client:
    def __init__(self, base: str):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def get(self, path: str, headers: dict | None = None) -> tuple[int, str, float]:
        req = urllib.request.Request(self.base + path, headers=headers or {})
        t0 = time.perf_counter()
        try:
            with self.opener.open(req, timeout=60) as resp:
                body = resp.read().decode("utf-8", "replace")
                status = resp.status
        except urllib.error.HTTPError as exc:
            body = exc.read().decode("utf-8", "replace")
            status = exc.code
        return status, body, (time.perf_counter() - t0) * 1000

    def login(self, email: str, password: str) -> None:
        status, body, _ = self.get("/login")
        m = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', body)
        if status != 200 or not m:
            raise RuntimeError(f"GET /login answered {status} without a CSRF token")
        data = urllib.parse.urlencode({"csrf_token": m.group(1), "email": email, "password": password}).encode()
        req = urllib.request.Request(self.base + "/login", data=data)
        try:
            with self.opener.open(req, timeout=60) as resp:
                final = resp.geturl()
                resp.read()
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"POST /login answered {exc.code}") from None
        if final.rstrip("/").endswith("/login"):
            raise RuntimeError("sign-in failed (still on /login)")


def start_server(url: str, port: int, workers: int) -> subprocess.Popen:
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench", QUEUE_MODE="sync")
    env.pop("REDIS_URL", None)
    app_ref = "wsgi:app"
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "bench"), str(ROOT), env.get("PYTHONPATH", "")])
    gunicorn = ROOT / ".venv" / "bin" / "gunicorn"
    log = open("/tmp/deskwright_bench_gunicorn.log", "w")
    proc = subprocess.Popen([str(gunicorn), "-w", str(workers), "-b", f"127.0.0.1:{port}", "--access-logfile", "-",
                             "--log-level", "warning", app_ref], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=log)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.3)
        if proc.poll() is not None:
            break
    proc.terminate()
    raise RuntimeError("gunicorn did not come up; see /tmp/deskwright_bench_gunicorn.log")


def follow_html(client: "Client", view: str, pages: int) -> str | None:
    """Click "Load more" `pages` times, as the agent UI does (htmx GET of the link's href)."""
    path, cursor = f"/tickets?view={view}", None
    for _ in range(pages):
        status, body, _ms = client.get(path, {"HX-Request": "true"} if cursor else {})
        m = re.search(r'hx-get="([^"]*[?&]after=([^"&]+)[^"]*)"', body)
        if status != 200 or not m:
            break
        path, cursor = m.group(1).replace("&amp;", "&"), urllib.parse.unquote(m.group(2))
    return cursor


def http_bench(url: str, n: int, warmup: int, cursors: dict, order_number: str, budget_s: float,
               workers: int, deep: int) -> dict:
    port = free_port()
    proc = start_server(url, port, workers)
    base = f"http://127.0.0.1:{port}"
    results = {}
    try:
        for label, email in USERS.items():
            client = Client(base)
            client.login(email, PASSWORD)
            dept = 1
            for view in ("open", "recent"):  # the deep cursor as the page itself hands it out
                t0 = time.perf_counter()
                html_cursor = follow_html(client, view, deep)
                same = "same as" if html_cursor == cursors[(label, view)] else "DIFFERS from"
                print(f"  {label:5} view={view:6}: clicked 'Load more' {deep} times in "
                      f"{time.perf_counter() - t0:.1f}s; cursor {same} the service's", flush=True)
                if html_cursor:
                    cursors = {**cursors, (label, view): html_cursor}
            for name, args in scenarios(order_number, dept):
                headers = {}
                if "after" in args:
                    args = dict(args, after=cursors[(label, args["view"])])
                    headers = {"HX-Request": "true", "HX-Target": "queue-rows"}  # the "load more" request
                path = "/tickets" + ("?" + urllib.parse.urlencode(args) if args else "")
                samples, statuses = [], {}
                t_start = time.perf_counter()
                for i in range(warmup + n):
                    status, body, ms = client.get(path, headers)
                    statuses[status] = statuses.get(status, 0) + 1
                    if status != 200:
                        raise RuntimeError(f"{path} answered {status}: {body[:300]}")
                    if i >= warmup:
                        samples.append(ms)
                    if time.perf_counter() - t_start > budget_s and i >= warmup + 10:
                        break
                res = summarise(samples)
                res["bytes"] = len(body.encode())
                res["load1"] = os.getloadavg()[0]
                results[f"{label}/{name}"] = res
                flag = "" if res["p95"] < GOAL_MS else "  <-- over 150 ms"
                print(f"  {label:5} {name:17} n={res['n']:3}  p50 {res['p50']:7.1f}  p95 {res['p95']:7.1f}  "
                      f"max {res['max']:7.1f} ms  ({res['bytes']:,} bytes)  load {res['load1']:.1f}{flag}", flush=True)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return results


def http_ready(url: str) -> str | None:
    """None if GET /login and /tickets render; otherwise why not."""
    port = free_port()
    try:
        proc = start_server(url, port, 1)
    except RuntimeError as exc:
        return str(exc)
    try:
        client = Client(f"http://127.0.0.1:{port}")
        try:
            client.login(USERS["admin"], PASSWORD)
        except RuntimeError as exc:
            return str(exc)
        status, body, _ = client.get("/tickets")
        if status != 200:
            m = re.search(r"TemplateNotFound[^<\n]*", body)
            return f"/tickets answered {status}" + (f" ({m.group(0)})" if m else "")
        return None
    finally:
        proc.terminate()
        proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--mode", choices=("both", "service", "http"), default="both")
    parser.add_argument("-n", "--requests", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--deep", type=int, default=200, help="pages to follow for the deep cursor")
    parser.add_argument("--budget", type=float, default=60.0, help="max seconds per scenario (then stop early)")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--json", default=None, help="write the results here")
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--wait-quiet", type=float, default=0.0, metavar="LOAD",
                        help="first wait (up to 30 min) until the 1-minute load average is below LOAD")
    args = parser.parse_args()
    ONLY.update(filter(None, args.only.split(",")))
    if args.wait_quiet:
        deadline = time.time() + 1800
        while os.getloadavg()[0] >= args.wait_quiet and time.time() < deadline:
            print(f"waiting for a quieter machine: load {os.getloadavg()[0]:.1f}", flush=True)
            time.sleep(30)
    url = args.url.replace("postgresql://", "postgresql+psycopg://", 1) if args.url.startswith("postgresql://") \
        else args.url

    app = make_app(url)
    from portal.extensions import db
    with app.app_context():
        order_number = find_order_number(db)
        n_tickets = db.session.execute(db.text("SELECT count(*) FROM tickets")).scalar()
    print(f"bench db: {n_tickets:,} tickets; order number searched: {order_number}; "
          f"load average {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    print(f"following {args.deep} pages for the deep cursors ...", flush=True)
    cursors = deep_cursors(app, USERS, args.deep)

    out = {"tickets": n_tickets, "date": time.strftime("%Y-%m-%d %H:%M"),
           "requests": args.requests, "order_number": order_number}
    if args.mode in ("both", "service"):
        print("\nservice layer (fetch_page + view_counts, in-process), ms:", flush=True)
        with app.app_context():
            out["service"] = service_bench(app, args.requests, args.warmup, cursors, order_number, args.budget,
                                           args.explain)
    if args.mode in ("both", "http"):
        why = http_ready(url)
        if why:
            print(f"\nHTTP: skipped, the pages don't render yet: {why}")
            out["http"] = {"skipped": why}
        else:
            print(f"\nHTTP over loopback (gunicorn -w {args.workers}, one sequential client), ms:", flush=True)
            out["http"] = http_bench(url, args.requests, args.warmup, cursors, order_number, args.budget,
                                     args.workers, args.deep)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2, ensure_ascii=False))
        print(f"\nresults written to {args.json}")


if __name__ == "__main__":
    main()
