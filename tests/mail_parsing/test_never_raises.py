"""parse_message never raises: arbitrary bytes, mutated real messages, hostile structures."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.channels.mail import ParsedMessage, parse_message

from .mailfiles import fixture_files

SAMPLES = [p.read_bytes() for p in fixture_files()[::7]] or [
    b"From: a@b.c\r\nSubject: =?gb2312?B?xOO6ww==?=\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n"
    b"--x\r\nContent-Type: text/plain; charset=gbk\r\n\r\n\xc4\xe3\xba\xc3\r\n--x--\r\n"]


def _check(raw: bytes) -> None:
    parsed = parse_message(raw)
    assert isinstance(parsed, ParsedMessage)
    assert isinstance(parsed.text, str) and isinstance(parsed.subject, str)
    assert parsed.reply_text or not parsed.text


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_arbitrary_bytes(raw):
    _check(raw)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SAMPLES), st.lists(st.tuples(st.integers(0, 10**6), st.binary(max_size=8)), max_size=6),
       st.integers(0, 10**6))
def test_mutated_fixtures(sample, edits, cut):
    data = bytearray(sample)
    for position, chunk in edits:  # overwrite or insert bytes at random places
        at = position % (len(data) + 1)
        data[at:at + len(chunk) // 2] = chunk
    _check(bytes(data[: cut % (len(data) + 1) or len(data)]))


HEADER_PIECES = [b"From: ", b"Subject: ", b"Content-Type: multipart/mixed; boundary=", b"Content-Type: text/plain; charset=",
                 b"Content-Transfer-Encoding: ", b"Content-Disposition: attachment; filename*=", b"=?gb2312?B?",
                 b"=?utf-8?Q?", b"?=", b"\r\n", b"\r\n ", b"--", b"\"", b";", b"<", b">", b"@", b"\xc4\xe3", b"\xff",
                 b"base64", b"quoted-printable", b"message/rfc822", b"x", b"''", b"%E4%"]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(HEADER_PIECES), max_size=60))
def test_header_soup(pieces):
    _check(b"".join(pieces) + b"\r\n\r\nbody\r\n--x\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\n\r\nhi")


def test_wrong_types_and_deep_nesting():
    assert parse_message(None).ok is False  # type: ignore[arg-type]
    assert parse_message("From: a@b.c\n\nhello").text == "hello"  # type: ignore[arg-type]
    nested = b"".join(b"Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n" % (i, i) for i in range(300))
    _check(b"From: a@b.c\r\n" + nested + b"Content-Type: text/plain\r\n\r\ndeep")
    _check(b"From: a@b.c\r\n" + b"Content-Type: message/rfc822\r\n\r\n" * 200 + b"hi")
