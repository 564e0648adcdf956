#!/usr/bin/env python3
"""deskwright-mailgate: hand one email from an MTA pipe to a Deskwright desk over HTTP.

The MTA pipes the raw message into this script; it POSTs it to the desk's
/api/v1/mail/inbound (Bearer token with the mail:ingest scope) and exits with a sysexits(3)
status the MTA understands. Python 3.8+ standard library only and no import from the desk's
code, so it starts in a few tens of milliseconds and can be copied to the MTA host on its own
(the Deskwright counterpart of Request Tracker's rt-mailgate).
"""
from __future__ import annotations

import argparse
import os
import sys

EX_OK = 0
EX_USAGE = 64       # wrong options: fix the MTA's command line
EX_DATAERR = 65     # the desk refused this message for good (too large, ...): the MTA bounces it
EX_TEMPFAIL = 75    # try again later: the MTA keeps the message and retries

# The server's MAX_INBOUND_MAIL_BYTES default (portal/config.py): bigger messages are refused
# here without being sent.
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
DEFAULT_TIMEOUT = 60.0
TOKEN_ENV = "DESKWRIGHT_MAILGATE_TOKEN"
NAME = "deskwright-mailgate"
USER_AGENT = NAME + "/1"
LOOPBACK = ("localhost", "127.0.0.1", "::1")

EPILOG = f"""\
exit status (sysexits.h):
  0   the desk took the message: 201 (a new ticket or a reply) or 200 (kept, but not a
      message: duplicate, ignored, held, flagged); a retried delivery the desk already has
      is recognised by its Message-ID and answers 200 "duplicate"
  75  EX_TEMPFAIL, the MTA keeps the message and retries: connection refused, DNS, TLS,
      time-out, 408, 429, 5xx, a redirect or any other unexpected answer, the token file
      unreadable, an error in this script; and the set-up errors, which are the desk's to
      fix, not the sender's: 401 (token unknown, revoked, agent deactivated), 403 (no
      mail:ingest scope), 422 (--mailbox is not a desk mailbox)
  65  EX_DATAERR: the desk refused this message for good: 413 (over MAX_INBOUND_MAIL_BYTES,
      or over --max-bytes here, then not sent), 400 (empty)
  64  EX_USAGE: wrong options, no token
  Postfix defers on 75 (and 71) and bounces on every other non-zero status (65 with
  5.6.0, an unknown one with 5.3.0): a revoked token or a mistyped --mailbox keeps mail
  waiting in the MTA's queue (watch its log) instead of bouncing customers' mail.
  One line on standard error says what happened; the MTA logs it, or puts it in the bounce.

the token (never on the command line, where ps shows it to every user):
  --token-file FILE (first line; chmod 600, owned by the user the MTA runs this as),
  or the environment variable {TOKEN_ENV}. Create it on the desk with
    flask --app wsgi create-token --email AGENT --name "MTA" --scope mail:ingest

Postfix, as a pipe transport (master.cf; continuation lines start with white space):
  deskwright unix  -       n       n       -       4       pipe
    flags=Rq user=deskwright argv=/usr/local/bin/deskwright-mailgate
      --url https://desk.example.com/api/v1/mail/inbound
      --token-file /etc/deskwright/mailgate.token --mailbox ${{recipient}}

  main.cf (one recipient per delivery, so ${{recipient}} is one address):
    deskwright_destination_recipient_limit = 1
    transport_maps = hash:/etc/postfix/transport
  /etc/postfix/transport (then: postmap /etc/postfix/transport):
    support@shop.example    deskwright:

  or in /etc/aliases (then: newaliases; the command runs as the aliases file's owner or
  default_privs, who must be able to read the token file):
    support: "|/usr/local/bin/deskwright-mailgate --url https://desk.example.com/api/v1/mail/inbound --token-file /etc/deskwright/mailgate.token --mailbox support@shop.example"
"""


class Done(Exception):
    """End the run: exit `status`, after one line on standard error."""

    def __init__(self, status: int, line: str):
        super().__init__(line)
        self.status, self.line = status, line


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2, which an MTA reads as "unknown error, bounce"
        self.print_usage(sys.stderr)
        raise Done(EX_USAGE, f"{NAME}: {message}")


def parse_args(argv):
    parser = _Parser(prog=NAME, description=__doc__.split("\n\n")[1],
                     epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", required=True,
                        help="the desk's inbound mail endpoint, e.g. https://desk.example.com/api/v1/mail/inbound")
    parser.add_argument("--token-file", metavar="FILE",
                        help=f"a file holding the API token (mail:ingest scope); default: ${TOKEN_ENV}")
    parser.add_argument("--mailbox", metavar="ADDRESS",
                        help="the desk mailbox the message was delivered to (default: the desk picks it "
                             "from To/Cc); an address that is not a desk mailbox is refused (422)")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                        help=f"give up (exit 75) after this many seconds without progress while "
                             f"connecting, sending or waiting for the answer (default {DEFAULT_TIMEOUT:g})")
    parser.add_argument("--cafile", metavar="FILE",
                        help="verify the desk's TLS certificate against these CA certificates (PEM) instead "
                             "of the system's, e.g. for a private CA; verification can't be turned off")
    parser.add_argument("--max-bytes", type=int, default=DEFAULT_MAX_BYTES, metavar="N",
                        help="refuse (exit 65) a message over N bytes without sending it; match the desk's "
                             f"MAX_INBOUND_MAIL_BYTES (default {DEFAULT_MAX_BYTES})")
    parser.add_argument("--allow-plaintext", action="store_true",
                        help="allow an http:// URL to a host other than localhost/127.0.0.1/::1 (the token "
                             "and the mail then cross the network unencrypted)")
    args = parser.parse_args(argv)
    if args.timeout <= 0:
        parser.error("--timeout must be more than 0")
    if args.max_bytes <= 0:
        parser.error("--max-bytes must be more than 0")
    return args


def _one_line(text, limit=300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def read_token(args) -> str:
    if args.token_file:
        try:
            with open(args.token_file, encoding="utf-8") as handle:
                token = handle.readline().strip()
        except (OSError, UnicodeError) as exc:  # e.g. not readable by the MTA's user: fix it, mail waits
            raise Done(EX_TEMPFAIL, f"{NAME}: can't read the token file: {_one_line(exc)}; "
                                    f"exit 75, the MTA will try again")
        if not token:
            raise Done(EX_TEMPFAIL, f"{NAME}: the token file {args.token_file} is empty; "
                                    f"exit 75, the MTA will try again")
        return token
    token = os.environ.get(TOKEN_ENV, "").strip()
    if not token:
        raise Done(EX_USAGE, f"{NAME}: no token: give --token-file FILE or set {TOKEN_ENV}")
    return token


def read_message(stream, max_bytes: int) -> bytes:
    raw = stream.read(max_bytes + 1)
    if len(raw) > max_bytes:
        total = len(raw)
        while True:  # read it all anyway: an MTA may take a pipe closed early as a failed delivery
            chunk = stream.read(1 << 20)
            if not chunk:
                break
            total += len(chunk)
        raise Done(EX_DATAERR, f"{NAME}: the message is {total} bytes, over the limit of {max_bytes} "
                               f"(--max-bytes, the desk's MAX_INBOUND_MAIL_BYTES); not sent, exit 65")
    if not raw.strip():
        raise Done(EX_DATAERR, f"{NAME}: no message on standard input; exit 65")
    return raw


def target(args):
    """(scheme, host, port, path with query) of the request."""
    from urllib.parse import quote, urlsplit
    try:
        url = urlsplit(args.url)
        port = url.port
    except ValueError as exc:
        raise Done(EX_USAGE, f"{NAME}: --url {args.url!r}: {exc}")
    if url.scheme not in ("http", "https") or not url.hostname:
        raise Done(EX_USAGE, f"{NAME}: --url must be an http:// or https:// URL, not {args.url!r}")
    if url.username or url.password:
        raise Done(EX_USAGE, f"{NAME}: --url must not hold credentials: use --token-file")
    if url.scheme == "http" and url.hostname not in LOOPBACK and not url.hostname.startswith("127.") \
            and not args.allow_plaintext:
        raise Done(EX_USAGE, f"{NAME}: refusing to send the token and the mail unencrypted to {url.hostname}: "
                             "use https:// (or --allow-plaintext)")
    path = url.path or "/"
    query = url.query
    if args.mailbox:
        query = (query + "&" if query else "") + "mailbox=" + quote(args.mailbox.strip(), safe="@")
    return url.scheme, url.hostname, port, path + ("?" + query if query else "")


def post(args, token: str, raw: bytes):
    """POST the message; (status, reason, headers, body bytes). Network trouble raises Done(75)."""
    import http.client
    import socket
    scheme, host, port, path = target(args)
    where = f"{host}:{port}" if port else host
    if scheme == "https":
        import ssl
        try:
            context = ssl.create_default_context(cafile=args.cafile)
        except (OSError, ssl.SSLError) as exc:
            raise Done(EX_TEMPFAIL, f"{NAME}: can't load --cafile {args.cafile}: {_one_line(exc)}; "
                                    "exit 75, the MTA will try again")
        conn = http.client.HTTPSConnection(host, port, timeout=args.timeout, context=context)
    else:
        conn = http.client.HTTPConnection(host, port, timeout=args.timeout)
    headers = {"Authorization": "Bearer " + token, "Content-Type": "message/rfc822",
               "Accept": "application/json", "User-Agent": USER_AGENT}
    retry = "; exit 75, the MTA will try again"
    try:
        try:
            conn.request("POST", path, body=raw, headers=headers)
        except (BrokenPipeError, ConnectionResetError):
            # The server may answer before reading the whole body (a 413) and close: read that answer.
            pass
        response = conn.getresponse()
        body = response.read(1 << 16)
        return response.status, response.reason, response.headers, body
    except socket.timeout:
        raise Done(EX_TEMPFAIL, f"{NAME}: {where} did not answer within {args.timeout:g} s{retry}")
    except OSError as exc:  # refused, unreachable, DNS (socket.gaierror), TLS (ssl.SSLError), reset
        reason = getattr(exc, "reason", None) or exc.strerror or exc.__class__.__name__
        if exc.__class__.__name__ == "SSLCertVerificationError":
            reason = f"TLS certificate not trusted ({_one_line(exc.verify_message or exc)}; see --cafile)"
        raise Done(EX_TEMPFAIL, f"{NAME}: can't deliver to {where}: {_one_line(reason)}{retry}")
    except http.client.HTTPException as exc:  # a broken answer, the connection closed without one
        raise Done(EX_TEMPFAIL, f"{NAME}: no valid HTTP answer from {where} "
                                f"({exc.__class__.__name__}: {_one_line(exc) or 'nothing'}){retry}")
    finally:
        conn.close()


def _json(body: bytes):
    import json
    try:
        found = json.loads(body.decode("utf-8"))
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def outcome(status: int, reason: str, headers, body: bytes) -> Done:
    """The exit status and the line to say for the desk's answer."""
    doc = _json(body)
    if status in (200, 201) and doc and "status" in doc:
        what = str(doc.get("status"))
        if doc.get("ticket") is not None:
            what += f", ticket #{doc['ticket']}"
        what += f", inbound message {doc.get('inbound_message')}"
        if doc.get("problem"):
            what += ": " + str(doc["problem"]).splitlines()[0]
        return Done(EX_OK, f"{NAME}: taken ({status}): {_one_line(what)}")
    said = f"{status} {reason}".strip()
    if doc:
        detail = doc.get("detail") or doc.get("title") or ""
        errors = doc.get("errors")
        if isinstance(errors, dict) and errors:
            detail += " " + "; ".join(f"{k}: {v}" for k, v in errors.items())
        if detail:
            said += ": " + detail
    elif body.strip() and status >= 400:
        said += ": " + body[:200].decode("utf-8", "replace")
    said = _one_line(said)
    if status in (401, 403, 422):  # the set-up is wrong, not the message: keep it until it's fixed
        what = "the token" if status != 422 else "--mailbox"
        return Done(EX_TEMPFAIL, f"{NAME}: the desk refused {what} ({said}); exit 75, the MTA keeps the "
                                 "message and retries: fix the set-up")
    if status in (400, 413):
        return Done(EX_DATAERR, f"{NAME}: the desk refused the message ({said}); exit 65")
    if 300 <= status < 400:
        said += f" to {headers.get('Location', '?')}: give that URL as --url"
    elif status in (200, 201):
        said += ": not the answer of a Deskwright mail endpoint (check --url)"
    retry = f" after {headers.get('Retry-After')} s" if status == 429 and headers.get("Retry-After") else ""
    return Done(EX_TEMPFAIL, f"{NAME}: the desk answered {said}; exit 75, the MTA will try again{retry}")


def run(argv, stdin) -> Done:
    args = parse_args(argv)
    token = read_token(args)
    target(args)  # a bad --url is a usage error before the message is read
    raw = read_message(stdin, args.max_bytes)
    return outcome(*post(args, token, raw))


def main(argv=None) -> int:
    try:
        done = run(sys.argv[1:] if argv is None else argv, sys.stdin.buffer)
    except Done as exc:
        done = exc
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else EX_USAGE
    except BaseException as exc:  # noqa: BLE001 - a bug here must not bounce the mail (an MTA bounces on 1)
        done = Done(EX_TEMPFAIL, f"{NAME}: internal error ({exc.__class__.__name__}: {_one_line(exc)}); "
                                 "exit 75, the MTA will try again")
    print(done.line, file=sys.stderr)
    return done.status


if __name__ == "__main__":
    sys.exit(main())
