"""API ticket creation under gunicorn (2 workers) on PostgreSQL, against a bare route inserting one row.

    .venv/bin/python bench/api/run.py                        # 5 rounds x (1, 8 clients) x 8 s per route
    .venv/bin/python bench/api/run.py --rounds 3 --seconds 5 --clients 1,8

PostgreSQL and Redis on 127.0.0.1, as on the project machines. The script:
  1. drops and re-creates the database in --url (its name must contain "bench"; default
     deskwright_bench_api), runs the real migrations, loads one department, one agent and its API
     token, and creates the bare route's table; empties the Redis db in --redis (default 11; never 0);
  2. starts gunicorn (2 sync workers, 127.0.0.1) on bench_app.py: the production app
     (DESKWRIGHT_ENV=production: RQ on Redis, the rate limiter counting in Redis) plus POST /bench/bare;
  3. per round and per client count, runs both routes for --seconds each, in alternating order
     (round 1: API first, round 2: bare first, ...) so noise from other work on the machine hits both;
     each client is its own process sending one request after the other (new connection each time:
     gunicorn's sync workers close it), timed from connect to the body read;
  4. reports requests/s and p50/p95 latency per route, the ratio API/bare, and tickets/s against
     Request Tracker 5's 2.7/s serial and 5.3/s at 8 clients; medians over the rounds. JSON in
     bench/out/api.json.

API_RATE_LIMIT is raised for the run (the limiter still counts every request in Redis), and no RQ
worker runs: each ticket's event is enqueued as in production, and waits.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/deskwright_bench_api"
DEFAULT_REDIS = "redis://127.0.0.1:6379/11"
OUT = ROOT / "bench" / "out"
RT5 = {1: 2.7, 8: 5.3}  # Request Tracker 5 REST 2, tickets/s, measured on this project's machine
GOAL_RATIO, GOAL_RT = 0.5, 50.0

sys.path.insert(0, str(HERE.parent))
from percentiles import pct  # noqa: E402


def setup(url: str, redis_url: str) -> str:
    """A fresh migrated database with a department, an agent and a token; the token's secret."""
    import psycopg
    from redis import Redis
    name = url.rsplit("/", 1)[1]
    if "bench" not in name:
        raise SystemExit(f"refusing to drop {name}: the name must contain 'bench'")
    if redis_url.rstrip("/").endswith("/0"):
        raise SystemExit("refusing to flush Redis db 0")
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    Redis.from_url(redis_url).flushdb()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "DESKWRIGHT_ENV": "production",
           "REDIS_URL": redis_url}
    subprocess.run([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "db", "upgrade"], cwd=ROOT, env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    code = """
from portal import create_app
from portal.extensions import db
from portal.models import Department, User
from portal.services.accounts import hash_password
from portal.services.api_tokens import create_token
from sqlalchemy import text
app = create_app()
with app.app_context():
    dept = Department(name="Support", name_zh="客户支持")
    agent = User(email="api@bench.example", name="API agent", role="agent",
                 password_hash=hash_password("bench-password-1"))
    agent.departments.append(dept)
    db.session.add_all([dept, agent])
    db.session.flush()
    print(create_token(agent, "bench")[1])
    db.session.execute(text("CREATE TABLE bench_bare (id serial PRIMARY KEY, subject text, body text, email text, "
                            "created_at timestamptz DEFAULT now())"))
    db.session.commit()
"""
    out = subprocess.run([str(ROOT / ".venv/bin/python"), "-c", code], cwd=ROOT, env=env, check=True,
                         capture_output=True, text=True)
    return out.stdout.strip().splitlines()[-1]


def start_gunicorn(url: str, redis_url: str, workers: int) -> tuple[subprocess.Popen, int]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench", "DESKWRIGHT_ENV": "production",
           "REDIS_URL": redis_url, "API_RATE_LIMIT": "100000000 per minute"}
    log = open("/tmp/deskwright_bench_api_gunicorn.log", "w")
    proc = subprocess.Popen([str(ROOT / ".venv/bin/gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
                             "--log-level", "warning", "bench_app:create_app()"], cwd=HERE, env=env,
                            stdout=subprocess.DEVNULL, stderr=log)
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                if r.status == 200:
                    return proc, port
        except Exception:  # noqa: BLE001 - not up yet
            time.sleep(0.3)
    proc.terminate()
    raise RuntimeError("gunicorn did not come up; see /tmp/deskwright_bench_api_gunicorn.log")


def client(port: int, path: str, token: str, seconds: float, seed: int, queue) -> None:
    """Requests one after the other until `seconds` pass; puts (latencies in ms, errors)."""
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    latencies, errors, n = [], 0, 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        n += 1
        # Half the tickets come from a returning customer (an existing contact), half from a new one.
        email = f"c{seed}-{n}@example.com" if n % 2 else f"returning{seed % 50}@example.com"
        body = json.dumps({"subject": f"Order {seed}-{n} arrived damaged", "body": "The box was crushed. " * 8,
                           "contact_email": email, "department": "Support", "priority": "high",
                           "channel": "api"})
        start = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status != 201:
                errors += 1
        except OSError:
            errors += 1
        finally:
            conn.close()
        latencies.append((time.perf_counter() - start) * 1000)
    queue.put((latencies, errors))


def measure(port: int, path: str, token: str, clients: int, seconds: float) -> dict:
    queue = mp.Queue()
    procs = [mp.Process(target=client, args=(port, path, token, seconds, int(time.time() * 1000) % 10**6 * 10 + i,
                                             queue)) for i in range(clients)]
    started = time.perf_counter()
    for p in procs:
        p.start()
    results = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    wall = time.perf_counter() - started
    latencies = [ms for lat, _ in results for ms in lat]
    errors = sum(e for _, e in results)
    return {"requests": len(latencies), "errors": errors, "rps": len(latencies) / min(wall, seconds + 0.5),
            "p50": pct(latencies, 50), "p95": pct(latencies, 95)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--redis", default=DEFAULT_REDIS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", default="1,8")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    counts = [int(c) for c in args.clients.split(",")]
    token = setup(args.url.replace("postgresql+psycopg://", "postgresql://"), args.redis)
    proc, port = start_gunicorn(args.url, args.redis, args.workers)
    routes = {"api": "/api/v1/tickets", "bare": "/bench/bare"}
    runs: dict = {(r, c): [] for r in routes for c in counts}
    try:
        for name, path in routes.items():  # warm-up: imports, pools, first queries
            measure(port, path, token, 2, 1.5)
        for rnd in range(args.rounds):
            order = list(routes) if rnd % 2 == 0 else list(reversed(routes))
            for c in counts:
                for name in order:
                    result = measure(port, routes[name], token, c, args.seconds)
                    runs[(name, c)].append(result)
                    print(f"round {rnd + 1} {name:4} {c} clients: {result['rps']:7.1f} req/s  "
                          f"p50 {result['p50']:6.1f} ms  p95 {result['p95']:6.1f} ms  errors {result['errors']}",
                          flush=True)
    finally:
        proc.terminate()
        proc.wait(10)
    summary = {}
    for c in counts:
        row = {}
        for name in routes:
            rs = runs[(name, c)]
            row[name] = {k: statistics.median(r[k] for r in rs) for k in ("rps", "p50", "p95")}
            row[name]["errors"] = sum(r["errors"] for r in rs)
        ratios = [a["rps"] / b["rps"] for a, b in zip(runs[("api", c)], runs[("bare", c)])]
        row["ratio"] = statistics.median(ratios)
        row["vs_rt5"] = row["api"]["rps"] / RT5[c] if c in RT5 else None
        summary[c] = row
    print("\n| clients | API tickets/s | API p50 / p95 ms | bare rows/s | bare p50 / p95 ms | API / bare | "
          "vs RT5 |\n|---|---|---|---|---|---|---|")
    for c, row in summary.items():
        rt = f"{row['vs_rt5']:.0f}x ({RT5[c]}/s)" if row["vs_rt5"] else "-"
        print(f"| {c} | {row['api']['rps']:.1f} | {row['api']['p50']:.1f} / {row['api']['p95']:.1f} | "
              f"{row['bare']['rps']:.1f} | {row['bare']['p50']:.1f} / {row['bare']['p95']:.1f} | "
              f"{row['ratio']:.2f} | {rt} |")
    print(f"\ngoals: API/bare >= {GOAL_RATIO}, >= {GOAL_RT:.0f}x RT5; errors: "
          + ", ".join(f"{c} clients api {r['api']['errors']} bare {r['bare']['errors']}" for c, r in summary.items()))
    OUT.mkdir(exist_ok=True)
    (OUT / "api.json").write_text(json.dumps({"args": vars(args), "summary": summary,
                                               "runs": {f"{n}/{c}": v for (n, c), v in runs.items()}}, indent=1))


if __name__ == "__main__":
    main()
