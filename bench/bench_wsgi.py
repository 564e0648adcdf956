"""gunicorn entry point for bench/queue_latency.py: the real `wsgi:app`, optionally with a proposed
ticket_list change applied first (BENCH_QUEUE_PATCH, see bench/queue_patches.py). Bench only."""
import os

if os.environ.get("BENCH_QUEUE_PATCH"):
    import queue_patches

    queue_patches.apply(os.environ["BENCH_QUEUE_PATCH"])

from wsgi import app  # noqa: E402,F401
