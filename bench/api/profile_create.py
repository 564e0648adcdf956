"""Where an API ticket creation spends its time: cProfile over N requests in-process (test client),
on the database and Redis bench/api/run.py prepared (run that first; it leaves them in place).

    .venv/bin/python bench/api/profile_create.py --token dw_... [-n 300]
"""
from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/deskwright_bench_api")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/11")
os.environ.setdefault("SECRET_KEY", "bench")
os.environ.setdefault("DESKWRIGHT_ENV", "production")
os.environ.setdefault("API_RATE_LIMIT", "100000000 per minute")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--token", required=True)
    parser.add_argument("-n", type=int, default=300)
    args = parser.parse_args()
    from portal import create_app
    client = create_app().test_client()
    headers = {"Authorization": f"Bearer {args.token}"}

    def post(i):
        body = {"subject": f"Order {i}", "body": "The box was crushed. " * 8, "department": "Support",
                "contact_email": f"p{time.time_ns()}@example.com" if i % 2 else "returning1@example.com"}
        response = client.post("/api/v1/tickets", data=json.dumps(body), headers=headers,
                               content_type="application/json")
        assert response.status_code == 201, response.get_data(as_text=True)

    for i in range(20):
        post(i)
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.enable()
    for i in range(args.n):
        post(i)
    profile.disable()
    print(f"{(time.perf_counter() - start) / args.n * 1000:.1f} ms per ticket")
    pstats.Stats(profile).sort_stats("cumulative").print_stats(r"portal/|rule_builder|flask_limiter|limits/", 40)


if __name__ == "__main__":
    main()
