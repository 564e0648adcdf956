"""Mail intake benchmark: 10,000 messages from a maildir through the pipe entry point, messages/s.

    .venv/bin/python bench/mail/run.py                        # SQLite and PostgreSQL, default sizes
    .venv/bin/python bench/mail/run.py --backends sqlite --messages 2000 --pipe-sample 50 --rounds 1
    .venv/bin/python bench/mail/run.py --backends postgresql --messages 1000 --pipe-sample 30 --gate-sample 1000

1. Builds a maildir of `--messages` messages from ../shared/fixtures/mail (real-world mail, round-robin),
   each with a Message-ID and sender of its own (`--senders` distinct customers), addressed to the
   bench mailbox; `--reply-share` of them answer an earlier message of the same customer (In-Reply-To
   and References), so threading is exercised. Header rewriting is done on the bytes, so the
   fixtures' odd encodings and broken structure reach the parser as they are.
2. For each backend and round, a fresh database (SQLite: a copy of a migrated file; PostgreSQL: a
   database made from a migrated template), then:
   (a) **pipe**: one `flask --app wsgi ingest-email < msg` process per message, as an MTA runs it,
       on the first `--pipe-sample` messages, sequentially; messages/s extrapolated to all;
   (b) **mailgate**: one `tools/mailgate.py < msg` process per message (the stdlib-only client an MTA
       pipes into), posting to /api/v1/mail/inbound of the app served by gunicorn with `--workers` (2)
       workers, started per round with bench/api/run.py's `start_gunicorn` (the production app:
       RQ and the rate limiter on Redis, API_RATE_LIMIT raised); a token with the mail:ingest scope
       is made per round. Sequentially, on the first `--gate-sample` messages; the script runs under
       `BENCH_MAILGATE_PYTHON` (default /usr/bin/python3: what its `#!/usr/bin/env python3` finds on
       an MTA host; a pyenv shim would add its own start-up);
   (c) **batch**: `flask --app wsgi ingest-email --maildir DIR`, one process, one commit per message,
       every message.
3. Where the time goes: a process that starts the app and exits (`ingest-email < /dev/null`), the
   bare interpreter, the mailgate's own start (`mailgate.py --help`), and in-process: `parse_message` alone over every message vs the whole `ingest`.

Medians of the rounds are printed as a markdown table and written to bench/out/mail.json.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
FLASK = str(ROOT / ".venv" / "bin" / "flask")
FIXTURES = Path(os.environ.get("DESKWRIGHT_SHARED", ROOT.parent / "shared")) / "fixtures" / "mail"
PG_URL = os.environ.get("BENCH_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/deskwright_bench_mail")
# Events go to Redis as in production (nobody runs them here): the intake is measured, not the rules
# a desk runs on new tickets. Not db 0; it is emptied before each round.
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
ADDRESS = "support@bench.example"
MAILGATE = str(ROOT / "tools" / "mailgate.py")
MAILGATE_PYTHON = os.environ.get("BENCH_MAILGATE_PYTHON") or (
    "/usr/bin/python3" if os.path.exists("/usr/bin/python3") else PYTHON)
_DROP = re.compile(rb"^(message-id|from|to|cc|in-reply-to|references|reply-to|sender|return-path|delivered-to)\s*:",
                   re.I)


# ----------------------------------------------------------------------------------------------
# The maildir
# ----------------------------------------------------------------------------------------------
def _split(raw: bytes) -> tuple[list[bytes], bytes, bytes]:
    """Header lines (continuations joined to their header), the line ending, the rest."""
    match = re.search(rb"\r?\n\r?\n", raw)
    head, body = (raw[:match.start()], raw[match.start():]) if match else (raw, b"\n\n")
    eol = b"\r\n" if b"\r\n" in head[:2000] else b"\n"
    headers: list[bytes] = []
    for line in head.split(eol):
        if line[:1] in (b" ", b"\t") and headers:
            headers[-1] += eol + line
        else:
            headers.append(line)
    return headers, eol, body


def rewrite(raw: bytes, new_headers: list[str]) -> bytes:
    headers, eol, body = _split(raw)
    kept = [h for h in headers if h and not _DROP.match(h)]
    return eol.join([h.encode() for h in new_headers] + kept) + body


def build_maildir(folder: Path, count: int, senders: int, reply_share: float, seed: int = 5) -> dict:
    fixtures = sorted(FIXTURES.rglob("*.eml"))
    if not fixtures:
        sys.exit(f"no fixtures in {FIXTURES} (set DESKWRIGHT_SHARED)")
    sources = [p.read_bytes() for p in fixtures]
    rng = random.Random(seed)
    for sub in ("new", "cur", "tmp"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    by_sender: dict[int, list[str]] = {}
    replies = 0
    for n in range(count):
        sender = n % senders
        message_id = f"<bench-{n}.{seed}@customer{sender}.example>"
        headers = [f"Message-ID: {message_id}", f"From: Customer {sender} <customer{sender}@bench-mail.example>",
                   f"To: Support <{ADDRESS}>"]
        earlier = by_sender.get(sender)
        if earlier and rng.random() < reply_share:
            parent = rng.choice(earlier)
            headers += [f"In-Reply-To: {parent}", f"References: {parent}"]
            replies += 1
        by_sender.setdefault(sender, []).append(message_id)
        # Maildir names start with the delivery time; a zero-padded counter keeps delivery order.
        (folder / "new" / f"{1764000000 + n:012d}.M{n}P1.bench").write_bytes(rewrite(sources[n % len(sources)],
                                                                                   headers))
    return {"messages": count, "replies": replies, "fixtures": len(sources), "senders": senders}


# ----------------------------------------------------------------------------------------------
# Databases
# ----------------------------------------------------------------------------------------------
def _env(url: str, instance: Path) -> dict:
    env = dict(os.environ, DATABASE_URL=url, INSTANCE_PATH=str(instance), REDIS_URL=REDIS_URL,
               ATTACHMENT_DIR=str(instance / "attachments"), SECRET_KEY="bench-mail")
    env["PYTHONPATH"] = str(ROOT)
    return env


def _migrate_and_seed(url: str, instance: Path) -> None:
    env = _env(url, instance)
    subprocess.run([FLASK, "--app", "wsgi", "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
    seed = ("from portal import create_app\nfrom portal.extensions import db\n"
            "from portal.models import Department, Mailbox\n"
            "app = create_app()\nwith app.app_context():\n"
            "    d = Department(name='Support'); db.session.add(d)\n"
            f"    db.session.add(Mailbox(address='{ADDRESS}', name='Support', department=d)); db.session.commit()\n")
    subprocess.run([PYTHON, "-c", seed], env=env, cwd=ROOT, check=True)


class Sqlite:
    name = "sqlite"

    def __init__(self, work: Path):
        self.work = work
        self.template = work / "template.db"
        _migrate_and_seed(f"sqlite:///{self.template}", work / "instance")

    def fresh(self, tag: str) -> str:
        path = self.work / f"{tag}.db"
        shutil.copyfile(self.template, path)
        return f"sqlite:///{path}"


class Postgres:
    name = "postgresql"

    def __init__(self, work: Path):
        from sqlalchemy import create_engine, make_url
        self.base = make_url(PG_URL)
        if "bench" not in self.base.database:
            sys.exit(f"refusing to use {self.base.database}: its name has no 'bench'")
        self.admin = create_engine(self.base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        self.template = self.base.database + "_tpl"
        self._recreate(self.template)
        _migrate_and_seed(self.base.set(database=self.template).render_as_string(hide_password=False),
                          work / "instance")

    def _recreate(self, name: str, template: str | None = None) -> None:
        from sqlalchemy import text
        with self.admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))

    def fresh(self, tag: str) -> str:
        self._recreate(self.base.database, self.template)
        return self.base.render_as_string(hide_password=False)


# ----------------------------------------------------------------------------------------------
# Measurements
# ----------------------------------------------------------------------------------------------
def flush_redis() -> None:
    from redis import Redis
    if REDIS_URL.rstrip("/").endswith("/0") or REDIS_URL.count("/") < 3:
        sys.exit("refusing to empty Redis db 0: set BENCH_REDIS_URL to redis://host:port/N")
    Redis.from_url(REDIS_URL).flushdb()


def pipe_round(url: str, files: list[Path], instance: Path) -> dict:
    flush_redis()
    env = _env(url, instance)
    started = time.perf_counter()
    statuses: dict[str, int] = {}
    for path in files:
        with open(path, "rb") as handle:
            done = subprocess.run([FLASK, "--app", "wsgi", "ingest-email"], stdin=handle, env=env, cwd=ROOT,
                                  capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"ingest-email failed on {path}: {done.stderr}")
        status = done.stdout.split()[0]
        statuses[status] = statuses.get(status, 0) + 1
    seconds = time.perf_counter() - started
    return {"messages": len(files), "seconds": seconds, "rate": len(files) / seconds, "statuses": statuses}


def _api_bench():
    """bench/api/run.py as a module (its gunicorn start-up is reused, not copied)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_api_run", ROOT / "bench" / "api" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _mail_token(url: str, instance: Path) -> str:
    """An agent of the bench department with a mail:ingest token; the token's secret."""
    code = ("from portal import create_app\nfrom portal.extensions import db\n"
            "from portal.models import Department, User\nfrom portal.services.api_tokens import create_token\n"
            "from sqlalchemy import select\napp = create_app()\nwith app.app_context():\n"
            "    agent = User(email='mta@bench.example', name='MTA', role='agent', password_hash='!')\n"
            "    agent.departments.append(db.session.scalar(select(Department)))\n"
            "    db.session.add(agent); db.session.flush()\n"
            "    print(create_token(agent, 'mailgate', ['mail:ingest'])[1]); db.session.commit()\n")
    done = subprocess.run([PYTHON, "-c", code], env=_env(url, instance), cwd=ROOT, check=True, capture_output=True,
                          text=True)
    return done.stdout.strip().splitlines()[-1]


def gate_round(url: str, files: list[Path], instance: Path, workers: int) -> dict:
    flush_redis()
    token_file = instance / "mailgate.token"
    token_file.write_text(_mail_token(url, instance) + "\n")
    token_file.chmod(0o600)
    # start_gunicorn passes its own environment on: keep this round's attachments in the work folder.
    saved = {k: os.environ.get(k) for k in ("INSTANCE_PATH", "ATTACHMENT_DIR")}
    os.environ.update(INSTANCE_PATH=str(instance), ATTACHMENT_DIR=str(instance / "attachments"))
    try:
        proc, port = _api_bench().start_gunicorn(url, REDIS_URL, workers)
    finally:
        for key, value in saved.items():
            os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    command = [MAILGATE_PYTHON, MAILGATE, "--url", f"http://127.0.0.1:{port}/api/v1/mail/inbound",
               "--token-file", str(token_file)]
    statuses: dict[str, int] = {}
    try:
        started = time.perf_counter()
        for path in files:
            with open(path, "rb") as handle:
                done = subprocess.run(command, stdin=handle, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(f"mailgate exited {done.returncode} on {path}: {done.stderr}")
            status = re.search(r"taken \(\d+\): (\w+)", done.stderr).group(1)
            statuses[status] = statuses.get(status, 0) + 1
        seconds = time.perf_counter() - started
    finally:
        proc.terminate()
        proc.wait(10)
    return {"messages": len(files), "seconds": seconds, "rate": len(files) / seconds, "statuses": statuses,
            "workers": workers}


def batch_round(url: str, maildir: Path, instance: Path) -> dict:
    flush_redis()
    env = _env(url, instance)
    started = time.perf_counter()
    done = subprocess.run([FLASK, "--app", "wsgi", "ingest-email", "--maildir", str(maildir)], env=env, cwd=ROOT,
                          capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"ingest-email --maildir failed: {done.stderr[-2000:]}")
    line = done.stdout.strip().splitlines()[-1]
    count, seconds = re.match(r"(\d+) messages in ([\d.]+) s", line).groups()
    statuses = dict((k, int(v)) for k, v in re.findall(r"(\w+) (\d+)", line.split(": ", 1)[1]))
    return {"messages": int(count), "seconds": float(seconds), "wall": wall, "rate": int(count) / float(seconds),
            "statuses": statuses}


def startup_cost(url: str, instance: Path, repeats: int = 7) -> dict:
    env = _env(url, instance)

    def timed(cmd) -> float:
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            subprocess.run(cmd, stdin=subprocess.DEVNULL, env=env, cwd=ROOT, capture_output=True)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    return {"interpreter": timed([PYTHON, "-c", "pass"]),
            "app": timed([FLASK, "--app", "wsgi", "ingest-email"]),  # starts the app, finds no message, exits
            "mailgate": timed([MAILGATE_PYTHON, MAILGATE, "--help"])}  # its interpreter, imports, argparse


def in_process_split(url: str, maildir: Path, instance: Path, limit: int) -> dict:
    """parse_message alone vs the whole ingest + commit, per message, in one process."""
    code = f"""
import json, os, time, sys
sys.path.insert(0, {str(ROOT)!r})
from portal import create_app
from portal.extensions import db
from portal.channels.mail.cli import maildir_files
from portal.channels.mail.parse import parse_message
from portal.channels.mail.ingest import ingest
files = maildir_files({str(maildir)!r})[:{limit}]
raws = [open(f, 'rb').read() for f in files]
app = create_app()
with app.app_context():
    t = time.perf_counter()
    for raw in raws:
        parse_message(raw)
    parse = time.perf_counter() - t
    t = time.perf_counter()
    for raw in raws:
        ingest(raw, via='pipe'); db.session.commit()
    total = time.perf_counter() - t
print(json.dumps({{"messages": len(raws), "parse": parse, "ingest": total}}))
"""
    done = subprocess.run([PYTHON, "-c", code], env=_env(url, instance), cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    parser.add_argument("--senders", type=int, default=2_500)
    parser.add_argument("--reply-share", type=float, default=0.3)
    parser.add_argument("--pipe-sample", type=int, default=100, help="messages per round through one process each")
    parser.add_argument("--gate-sample", type=int, default=2000,
                        help="messages per round through tools/mailgate.py (one process each) to gunicorn")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers for the mailgate's server")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (maildir, databases)")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-mail-"))
    maildir = work / "maildir"
    made = build_maildir(maildir, args.messages, args.senders, args.reply_share)
    print(f"maildir: {made['messages']} messages ({made['replies']} replies) from {made['fixtures']} fixtures, "
          f"{made['senders']} senders, {sum(p.stat().st_size for p in (maildir / 'new').iterdir()) / 1e6:.1f} MB",
          flush=True)
    files = sorted((maildir / "new").iterdir())
    results = {"maildir": made, "backends": {}}
    for name in args.backends.split(","):
        backend = {"sqlite": Sqlite, "postgresql": Postgres}[name](work)
        instance = work / "instance"
        rounds = {"pipe": [], "gate": [], "batch": []}
        for r in range(args.rounds):
            rounds["pipe"].append(pipe_round(backend.fresh(f"pipe{r}"), files[:args.pipe_sample], instance))
            print(f"{name} round {r + 1}: pipe {rounds['pipe'][-1]['rate']:.2f}/s", flush=True)
            rounds["gate"].append(gate_round(backend.fresh(f"gate{r}"), files[:args.gate_sample], instance,
                                             args.workers))
            print(f"{name} round {r + 1}: mailgate {rounds['gate'][-1]['rate']:.1f}/s "
                  f"{rounds['gate'][-1]['statuses']}", flush=True)
            rounds["batch"].append(batch_round(backend.fresh(f"batch{r}"), maildir, instance))
            print(f"{name} round {r + 1}: batch {rounds['batch'][-1]['rate']:.1f}/s "
                  f"{rounds['batch'][-1]['statuses']}", flush=True)
        costs = startup_cost(backend.fresh("startup"), instance)
        split = in_process_split(backend.fresh("split"), maildir, instance, min(args.messages, 2000))
        results["backends"][name] = {"rounds": rounds, "startup": costs, "split": split}
    out = ROOT / "bench" / "out"
    out.mkdir(exist_ok=True)
    (out / "mail.json").write_text(json.dumps(results, indent=2))
    flush_redis()
    print(report(results, args))
    if not args.keep:
        shutil.rmtree(work, ignore_errors=True)


def report(results: dict, args) -> str:
    lines = ["| backend | pipe: msg/s (1 process each) | 10,000 by pipe | mailgate: msg/s (1 process each, "
             f"gunicorn {args.workers} workers) | 10,000 by mailgate | batch: msg/s (one process) | "
             "10,000 in batch | app start | mailgate start | parse / msg | ingest+commit / msg |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, data in results["backends"].items():
        pipe = statistics.median(r["rate"] for r in data["rounds"]["pipe"])
        gate = statistics.median(r["rate"] for r in data["rounds"]["gate"])
        batch = statistics.median(r["rate"] for r in data["rounds"]["batch"])
        split = data["split"]
        lines.append(
            f"| {name} | {pipe:.2f} | {10_000 / pipe / 60:.0f} min | {gate:.1f} | {10_000 / gate / 60:.1f} min | "
            f"{batch:.0f} | {10_000 / batch:.0f} s | "
            f"{data['startup']['app'] * 1000:.0f} ms (interpreter {data['startup']['interpreter'] * 1000:.0f} ms) | "
            f"{data['startup']['mailgate'] * 1000:.0f} ms | "
            f"{split['parse'] / split['messages'] * 1000:.2f} ms | {split['ingest'] / split['messages'] * 1000:.2f} ms |")
    lines.append(f"\nMedians of {args.rounds} rounds; pipe on the first {args.pipe_sample} messages, mailgate on "
                 f"the first {args.gate_sample} (under {MAILGATE_PYTHON}). Statuses (mailgate, last round): "
                 + "; ".join(f"{n}: {d['rounds']['gate'][-1]['statuses']}" for n, d in results["backends"].items())
                 + ". "
                 f"Statuses (batch, last round): " + "; ".join(
                     f"{n}: {d['rounds']['batch'][-1]['statuses']}" for n, d in results["backends"].items()))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
