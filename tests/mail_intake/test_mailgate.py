"""tools/mailgate.py, the MTA's pipe into POST /api/v1/mail/inbound: run as a subprocess (with
`python -I -S`, so nothing outside the standard library can be imported) against the app served over
real HTTP, with real tokens; the exit status is what the MTA acts on (sysexits: 0 taken, 75 try again,
75 also for a refused token or mailbox, 65 message refused, 64 usage)."""
from __future__ import annotations

import http.server
import json
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.serving import WSGIRequestHandler, make_server

from factories import make_agent, make_department
from portal.extensions import db
from portal.models import InboundMessage, Mailbox, Ticket
from portal.services.api_tokens import create_token

MAILGATE = str(Path(__file__).resolve().parents[2] / "tools" / "mailgate.py")
LIMIT = 64 * 1024  # the app's MAX_INBOUND_MAIL_BYTES here


@pytest.fixture
def app_config():
    return {"MAX_INBOUND_MAIL_BYTES": LIMIT}


class _Quiet(WSGIRequestHandler):
    def log(self, *args, **kwargs):
        pass


@pytest.fixture
def live(app):
    """The test's app behind werkzeug's threaded server on a free port: the base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def desk(app, tmp_path):
    """Two mailboxes; token files for a mail:ingest token and for a token without that scope."""
    returns, billing = make_department(name="Returns"), make_department(name="Billing")
    db.session.add_all([Mailbox(address="returns@desk.example", name="Returns", department=returns),
                        Mailbox(address="billing@desk.example", name="Billing", department=billing)])
    agent = make_agent(departments=[returns, billing])
    _, mta = create_token(agent, "mta", ["mail:ingest"])
    _, plain = create_token(agent, "tickets")
    db.session.commit()
    files = {}
    for name, secret in (("mta", mta), ("plain", plain), ("wrong", "dw_not-a-token")):
        files[name] = tmp_path / f"{name}.token"
        files[name].write_text(secret + "\n")
        files[name].chmod(0o600)
    files["secret"] = mta
    return files


def mail(subject="Screen cracked", body="It arrived broken.\n", to="returns@desk.example") -> bytes:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "Li Lei <li.lei@example.com>", to, subject
    msg["Message-ID"] = make_msgid(domain="example.com")
    msg.set_content(body)
    return msg.as_bytes()


def gate(raw: bytes, *args, env=None, timeout=60) -> subprocess.CompletedProcess:
    """Run the mailgate as an MTA would, with only the standard library importable (-I -S)."""
    return subprocess.run([sys.executable, "-I", "-S", MAILGATE, *args], input=raw, capture_output=True,
                          env=env if env is not None else {}, timeout=timeout)


def inbound_url(base: str) -> str:
    return base + "/api/v1/mail/inbound"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def line(done) -> str:
    text = done.stderr.decode()
    assert text.count("\n") == 1, text  # one line, for the MTA's log or the bounce
    return text.strip()


def test_a_message_becomes_a_ticket(live, desk):
    done = gate(mail(), "--url", inbound_url(live), "--token-file", str(desk["mta"]))
    assert done.returncode == 0, done.stderr
    ticket = db.session.scalar(select(Ticket))
    assert ticket.subject == "Screen cracked" and ticket.department.name == "Returns"
    assert f"taken (201): ticket, ticket #{ticket.id}" in line(done)
    record = db.session.scalar(select(InboundMessage))
    assert record.via == "http" and record.ticket_id == ticket.id


def test_the_mailbox_and_the_token_from_the_environment(live, desk):
    # To: returns, but delivered to billing: --mailbox decides the department
    done = gate(mail(subject="Invoice wrong"), "--url", inbound_url(live), "--mailbox", "Billing@desk.example",
                env={"DESKWRIGHT_MAILGATE_TOKEN": desk["secret"]})
    assert done.returncode == 0, done.stderr
    assert db.session.scalar(select(Ticket)).department.name == "Billing"


def test_a_duplicate_is_taken_once(live, desk):
    raw = mail()
    first = gate(raw, "--url", inbound_url(live), "--token-file", str(desk["mta"]))
    again = gate(raw, "--url", inbound_url(live), "--token-file", str(desk["mta"]))
    assert (first.returncode, again.returncode) == (0, 0), (first.stderr, again.stderr)
    assert "taken (200): duplicate" in line(again)
    assert db.session.scalar(select(func.count()).select_from(Ticket)) == 1
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 2


@pytest.mark.parametrize("token, status", [("wrong", 401), ("plain", 403)])
def test_a_refused_token_keeps_the_mail_in_the_mta(live, desk, token, status):
    """The token is the desk's set-up, not the sender's fault: 75, never a bounce to the customer."""
    done = gate(mail(), "--url", inbound_url(live), "--token-file", str(desk[token]))
    assert done.returncode == 75, done.stderr
    assert f"refused the token ({status}" in line(done)
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 0


def test_the_server_down_exits_75(desk):
    done = gate(mail(), "--url", f"http://127.0.0.1:{free_port()}/api/v1/mail/inbound",
                "--token-file", str(desk["mta"]))
    assert done.returncode == 75, done.stderr
    assert "Connection refused" in line(done) and "try again" in line(done)


def test_a_server_that_never_answers_exits_75(desk):
    with socket.socket() as silent:  # accepts the connection (the kernel does), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(5)
        done = gate(mail(), "--url", f"http://127.0.0.1:{silent.getsockname()[1]}/api/v1/mail/inbound",
                    "--token-file", str(desk["mta"]), "--timeout", "0.5")
    assert done.returncode == 75, done.stderr
    assert "did not answer within 0.5 s" in line(done)


def test_a_message_over_the_desks_limit_exits_65(live, desk):
    big = mail(body=("x" * 76 + "\n") * (LIMIT // 77 + 10))
    assert len(big) > LIMIT
    done = gate(big, "--url", inbound_url(live), "--token-file", str(desk["mta"]))
    assert done.returncode == 65, done.stderr
    assert "refused the message (413" in line(done)
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 0


def test_a_message_over_max_bytes_is_not_sent(desk):
    # Nothing listens on the port: had it tried to send, it would exit 75.
    done = gate(mail(body="y" * 5000), "--url", f"http://127.0.0.1:{free_port()}/x", "--token-file",
                str(desk["mta"]), "--max-bytes", "1000")
    assert done.returncode == 65, done.stderr
    assert "over the limit of 1000" in line(done) and "not sent" in line(done)


def test_a_body_refused_before_it_is_read_still_exits_65(make_app, desk):
    """Over MAX_INBOUND_MAIL_BYTES, werkzeug answers 413 without reading the body and closes; the
    mailgate reads that answer instead of taking the reset for a network failure."""
    small = make_app(MAX_INBOUND_MAIL_BYTES=16 * 1024)
    server = make_server("127.0.0.1", 0, small, threaded=True, request_handler=_Quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        done = gate(mail(body=("z" * 76 + "\n") * 60_000), "--url",
                    f"http://127.0.0.1:{server.server_port}/api/v1/mail/inbound", "--token-file",
                    str(desk["mta"]))
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 65, done.stderr
    assert "(413" in line(done)


def test_an_unknown_mailbox_keeps_the_mail_in_the_mta(live, desk):
    done = gate(mail(), "--url", inbound_url(live), "--token-file", str(desk["mta"]),
                "--mailbox", "nobody@desk.example")
    assert done.returncode == 75, done.stderr
    assert "fix the set-up" in line(done)
    assert "422" in line(done) and "mailbox: No such mailbox." in line(done)


class _Answer(http.server.BaseHTTPRequestHandler):
    status, body, headers = 200, b"", {}

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(self.status)
        for name, value in self.headers_out.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


PROBLEM = b'{"type": "about:blank", "title": "T", "status": 0, "detail": "what went wrong"}'


@pytest.mark.parametrize("status, body, headers, exit_status", [
    (201, b'{"inbound_message": 1, "status": "reply", "ticket": 7, "problem": null}', {}, 0),
    (200, b'{"inbound_message": 2, "status": "flagged", "ticket": null, "problem": "no sender"}', {}, 0),
    (200, b'{"inbound_message": 3, "status": "held", "ticket": null, "problem": null}', {}, 0),
    (200, b"<html>a login page</html>", {}, 75),  # not the endpoint: keep the mail
    (429, PROBLEM, {"Retry-After": "30"}, 75),
    (500, PROBLEM, {}, 75), (502, b"Bad Gateway", {}, 75), (503, b"", {}, 75), (504, b"", {}, 75),
    (302, b"", {"Location": "https://desk.example.com/api/v1/mail/inbound"}, 75),
    (404, PROBLEM, {}, 75),
    (401, PROBLEM, {}, 75), (403, PROBLEM, {}, 75), (422, PROBLEM, {}, 75),
    (400, PROBLEM, {}, 65), (413, PROBLEM, {}, 65),
])
def test_each_answer_maps_to_an_exit_status(desk, status, body, headers, exit_status):
    handler = type("Handler", (_Answer,), {"status": status, "body": body, "headers_out": headers})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        done = gate(mail(), "--url", f"http://127.0.0.1:{server.server_port}/api/v1/mail/inbound",
                    "--token-file", str(desk["mta"]))
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == exit_status, done.stderr
    said = line(done)
    if status == 429:
        assert "after 30 s" in said
    if status == 302:
        assert "give that URL as --url" in said
    if status in (201, 200) and exit_status == 0:
        assert json.loads(body)["status"] in said


def test_usage_and_local_problems(desk, tmp_path):
    url = f"http://127.0.0.1:{free_port()}/x"
    assert gate(mail(), "--url", url).returncode == 64  # no token
    missing = gate(mail(), "--url", url, "--token-file", str(tmp_path / "nope"))
    assert missing.returncode == 75 and "can't read the token file" in line(missing)  # fix it; the mail waits
    assert gate(mail(), "--url", url, "--token-file", str(desk["mta"]), "--bogus").returncode == 64
    plain = gate(mail(), "--url", "http://desk.example.com/x", "--token-file", str(desk["mta"]))
    assert plain.returncode == 64 and "unencrypted" in line(plain)
    empty = gate(b"", "--url", url, "--token-file", str(desk["mta"]))
    assert empty.returncode == 65 and "no message" in line(empty)
    helped = gate(b"", "--help")
    assert helped.returncode == 0 and b"master.cf" in helped.stdout
    assert "--token " not in helped.stdout.decode() and "--token=" not in helped.stdout.decode()


@pytest.mark.skipif(not shutil.which("openssl"), reason="needs the openssl command")
def test_tls_is_verified_and_cafile_trusts_a_private_ca(live, desk, tmp_path):
    """A TLS front (a self-signed certificate) before the live app: refused without --cafile (exit 75,
    the message not sent), taken with it."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key),
                    "-out", str(cert)], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    port = int(live.rsplit(":", 1)[1])
    front = socket.socket()
    front.bind(("127.0.0.1", 0))
    front.listen(5)

    def relay():  # terminate TLS, pass the bytes on to the live app, one connection at a time
        while True:
            try:
                raw_conn, _ = front.accept()
            except OSError:
                return
            try:
                conn = context.wrap_socket(raw_conn, server_side=True)
            except (ssl.SSLError, OSError):
                raw_conn.close()
                continue
            with conn, socket.create_connection(("127.0.0.1", port)) as back:
                conn.settimeout(5)
                back.settimeout(5)
                request = b""
                while b"\r\n\r\n" not in request:
                    request += conn.recv(65536)
                head, _, body = request.partition(b"\r\n\r\n")
                length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
                while len(body) < length:
                    body += conn.recv(65536)
                back.sendall(head + b"\r\n\r\n" + body)
                answer = b""
                while chunk := back.recv(65536):
                    answer += chunk
                conn.sendall(answer)

    thread = threading.Thread(target=relay, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{front.getsockname()[1]}/api/v1/mail/inbound"
    try:
        untrusted = gate(mail(), "--url", url, "--token-file", str(desk["mta"]))
        trusted = gate(mail(), "--url", url, "--token-file", str(desk["mta"]), "--cafile", str(cert))
    finally:
        front.close()
    assert untrusted.returncode == 75 and "certificate not trusted" in line(untrusted), untrusted.stderr
    assert trusted.returncode == 0, trusted.stderr
    assert db.session.scalar(select(func.count()).select_from(InboundMessage)) == 1


def test_it_imports_nothing_outside_the_standard_library(live, desk):
    """Run a real delivery in a bare interpreter (-I -S: no site-packages) and list what was imported."""
    code = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('mailgate', {MAILGATE!r})\n"
        "gate = importlib.util.module_from_spec(spec); spec.loader.exec_module(gate)\n"
        f"status = gate.main(['--url', {inbound_url(live)!r}, '--token-file', {str(desk['mta'])!r}])\n"
        "print(json.dumps({'status': status, 'modules': sorted(sys.modules)}))\n")
    done = subprocess.run([sys.executable, "-I", "-S", "-c", code], input=mail(), capture_output=True, env={},
                          timeout=60)
    result = json.loads(done.stdout)
    assert result["status"] == 0, done.stderr
    outside = {m for m in result["modules"] if m.split(".")[0] not in sys.stdlib_module_names
               and m not in ("__main__", "mailgate")}
    assert not outside, outside
    source = Path(MAILGATE).read_text()
    assert "portal" not in {m.split(".")[0] for m in result["modules"]} and "from portal" not in source
