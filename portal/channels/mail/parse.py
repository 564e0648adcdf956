"""parse_message(raw bytes) -> ParsedMessage: everything email intake needs from one message.

It never raises: mail is written by thousands of different programs, many of them broken, and a
customer's message must never be lost because one header is odd. What could not be read is
listed in `problems`; `ok=False` means "keep the raw bytes and show an admin".
"""
from __future__ import annotations

import email
import email.policy
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.message import Message
from email.utils import parsedate_to_datetime
from typing import Optional

from ...services.sanitize import clean_html  # the desk's one HTML policy (nh3, cid: images allowed)
from .charsets import codec_for, decode_bytes
from .headers import decode_text_header, message_ids, parse_addresses, raw_bytes
from .htmltext import html_to_text
from .loops import detect_loop
from .mime import content_type, params, raw_header, safe_filename, transfer_decode
from .quotes import strip_quotes

_BODY_TYPES = ("text/plain", "text/html")
_HEADER_DEFECTS = ("MissingHeaderBodySeparatorDefect", "FirstHeaderLineIsContinuationDefect",
                   "InvalidHeaderDefect", "HeaderMissingRequiredValue", "NonPrintableDefect")
_BOUNDARY_DEFECTS = ("StartBoundaryNotFoundDefect", "NoBoundaryInMultipartDefect", "CloseBoundaryNotFoundDefect",
                     "MultipartInvariantViolationDefect")
_META_CHARSET = re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9_.:-]+)", re.I)
_WORD_CHARSET = re.compile(r"=\?([^?\s*]+)[^?\s]*\?[bBqQ]\?")


@dataclass(frozen=True)
class ParsedAttachment:
    filename: str
    content_type: str
    data: bytes
    content_id: Optional[str] = None
    inline: bool = False


@dataclass(frozen=True)
class ParsedMessage:
    ok: bool = False
    problems: list[str] = field(default_factory=list)
    message_id: Optional[str] = None
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    thread_index: Optional[str] = None
    from_name: str = ""
    from_address: Optional[str] = None
    reply_to: Optional[str] = None
    to: list[str] = field(default_factory=list)
    cc: list[str] = field(default_factory=list)
    subject: str = ""
    date: Optional[datetime] = None
    text: str = ""
    html: Optional[str] = None
    reply_text: str = ""
    attachments: list[ParsedAttachment] = field(default_factory=list)
    auto_submitted: bool = False
    is_bounce: bool = False
    loop_reason: Optional[str] = None
    headers_ok: bool = True


def parse_message(raw: bytes) -> ParsedMessage:
    """Parse one RFC 5322 message. Never raises."""
    try:
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        elif isinstance(raw, (bytearray, memoryview)):
            raw = bytes(raw)
        if not isinstance(raw, bytes):
            return ParsedMessage(ok=False, problems=[f"not bytes but {type(raw).__name__}"], headers_ok=False)
        return _Parser(raw).run()
    except Exception as exc:  # the last line of defence; every known case is handled inside
        return ParsedMessage(ok=False, problems=[f"could not be parsed ({type(exc).__name__}: {exc})"[:300]],
                             headers_ok=False)


def _load(raw: bytes) -> tuple[Message, bool, Optional[str]]:
    """The modern policy first; it raises on some broken headers (while finding boundaries or
    reading parameters), and then compat32, which keeps every header as a plain string."""
    try:
        msg = email.message_from_bytes(raw, policy=email.policy.default)
        for part in msg.walk():  # touch what the modern policy parses lazily
            part.get_content_type()
            part.get_params()
            part.get("content-disposition")
        if _boundary_defects(msg):
            # The modern header parser stops an unquoted boundary at "=" (Outlook Express writes
            # boundary=----=_NextPart_...); compat32 reads it the way mail clients do.
            old = email.message_from_bytes(raw, policy=email.policy.compat32)
            if _boundary_defects(old) < _boundary_defects(msg):
                return old, False, None
        return msg, True, None
    except Exception as exc:
        msg = email.message_from_bytes(raw, policy=email.policy.compat32)
        return msg, False, f"broken headers worked around ({type(exc).__name__})"


def _boundary_defects(msg: Message) -> int:
    return sum(type(d).__name__ in _BOUNDARY_DEFECTS for part in msg.walk() for d in part.defects)


class _Parser:
    def __init__(self, raw: bytes) -> None:
        self.raw = raw
        self.problems: list[str] = []
        self.headers_ok = True
        self.plain: list[str] = []
        self.html: list[str] = []
        self.attachments: list[ParsedAttachment] = []
        self.types: list[str] = []  # MIME types outside nested messages, for loop detection
        self.hints: list[str] = []  # charsets declared anywhere in the message

    def problem(self, text: str) -> None:
        if text not in self.problems:
            self.problems.append(text)

    # -- headers -------------------------------------------------------------------------------
    def header(self, name: str) -> Optional[str]:
        value = raw_header(self.msg, name)
        if value is None:
            return None
        text, broken = decode_text_header(value, self.hints)
        if broken:
            self.headers_ok = False
        return text

    def addresses(self, name: str) -> list[tuple[str, str]]:
        value = raw_header(self.msg, name)
        if value is None:
            return []
        pairs, broken = parse_addresses(value, self.hints)
        if broken:
            self.headers_ok = False
        return pairs

    def _collect_hints(self) -> None:
        """Charsets the sender declared anywhere: the best guess for undeclared 8-bit bytes, which
        mail programs write in the same charset as the rest of the message."""
        for part in self.msg.walk():
            _, found = params(raw_header(part, "Content-Type"))
            label = found.get("charset")
            if label and codec_for(label) not in (None, "ascii") and label not in self.hints:
                self.hints.append(label)
        for _, value in self.msg.raw_items():
            for label in _WORD_CHARSET.findall(str(value)):
                if codec_for(label) not in (None, "ascii") and label not in self.hints:
                    self.hints.append(label)

    # -- body ----------------------------------------------------------------------------------
    def walk(self, part: Message, parent_type: str = "", depth: int = 0) -> None:
        ctype, ct_params = content_type(part, parent_type)
        self.types.append(ctype)
        payload = getattr(part, "_payload", None)
        if ctype.startswith("message/") and ctype not in ("message/partial", "message/external-body"):
            self.nested(part, ctype, payload)
            return
        if isinstance(payload, list):
            if depth > 50:  # pathological nesting: keep the raw message for an admin instead
                self.problem("MIME nesting too deep; inner parts skipped")
                return
            for child in payload:
                if isinstance(child, Message):
                    self.walk(child, ctype, depth + 1)
            return
        self.leaf(part, ctype, ct_params)

    def leaf(self, part: Message, ctype: str, ct_params: dict[str, str]) -> None:
        disposition, cd_params = params(raw_header(part, "Content-Disposition"), self.hints)
        disposition = disposition.split()[0] if disposition.split() else ""
        filename = cd_params.get("filename") or ct_params.get("name")
        data, problem = transfer_decode(part)
        if problem:
            self.problem(problem)
        # A multipart without a usable boundary is shown by mail clients as its raw text.
        body_type = "text/plain" if ctype.startswith("multipart/") else ctype
        if body_type in _BODY_TYPES and disposition != "attachment" and not filename:
            self.body(body_type, data, ct_params)
            return
        self.attach(part, ctype, data, filename, disposition)

    def body(self, ctype: str, data: bytes, ct_params: dict[str, str]) -> None:
        declared = ct_params.get("charset")
        if ctype == "text/html" and codec_for(declared) in (None, "ascii"):
            meta = _META_CHARSET.search(data[:4096])
            declared = meta.group(1).decode("ascii") if meta else declared
        decoded = decode_bytes(data, declared, self.hints)
        if decoded.lossy:
            self.problem(f"{ctype} part: bytes not readable as {declared or 'any known charset'} were replaced")
        text = decoded.text.replace("\r\n", "\n").replace("\r", "\n")
        if ctype == "text/html":
            self.html.append(text)
        else:
            if ct_params.get("format", "").lower() == "flowed":
                text = _unflow(text, ct_params.get("delsp", "").lower() == "yes")
            self.plain.append(text)

    def attach(self, part: Message, ctype: str, data: bytes, filename: Optional[str], disposition: str) -> None:
        cid = raw_header(part, "Content-ID")
        cid = raw_bytes(cid).decode("ascii", "replace").strip().strip("<>").strip() if cid else None
        inline = disposition == "inline" or (not disposition and bool(cid))
        name = safe_filename(filename, len(self.attachments) + 1, ctype)
        self.attachments.append(ParsedAttachment(name, ctype, data, cid or None, inline))

    def nested(self, part: Message, ctype: str, payload: object) -> None:
        """A forwarded or bounced message is an attachment; its text is not the customer's."""
        inner = payload[0] if isinstance(payload, list) and payload else None
        subject = None
        if isinstance(payload, list):
            chunks = []
            for item in payload:
                try:
                    chunks.append(item.as_bytes(policy=email.policy.compat32))
                except Exception:
                    chunks.append(str(item).encode("utf-8", "surrogateescape"))
            data = b"\n".join(chunks)
        else:
            data, _ = transfer_decode(part)
        if ctype in ("message/rfc822", "message/global") and isinstance(inner, Message):
            value = raw_header(inner, "Subject")
            subject = decode_text_header(value, self.hints)[0] if value else None
        _, cd_params = params(raw_header(part, "Content-Disposition"), self.hints)
        _, ct_params = params(raw_header(part, "Content-Type"), self.hints)
        filename = cd_params.get("filename") or ct_params.get("name")
        if not filename and ctype in ("message/rfc822", "message/global"):
            stem = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "_", subject or "").strip(" ._")[:100]
            filename = f"{stem or 'message'}.eml"
        elif not filename:
            filename = ctype.split("/", 1)[1] + ".txt"
        self.attachments.append(ParsedAttachment(safe_filename(filename, len(self.attachments) + 1, ctype),
                                                 ctype, data, None, False))

    # -- assembly ------------------------------------------------------------------------------
    def run(self) -> ParsedMessage:
        self.msg, policy_ok, problem = _load(self.raw)
        if problem:
            self.problem(problem)
        self.headers_ok = policy_ok and not any(type(d).__name__ in _HEADER_DEFECTS for d in self.msg.defects)
        self._collect_hints()
        self.walk(self.msg)

        senders = self.addresses("From") or self.addresses("Sender")
        from_name, from_address = senders[0] if senders else ("", None)
        if not from_name and senders:
            from_name = ""
        reply_to = self.addresses("Reply-To")
        subject = self.header("Subject") or ""
        text = _tidy("\n\n".join(t for t in self.plain if t.strip()))
        if not text and self.html:
            text = _tidy("\n\n".join(html_to_text(h) for h in self.html))
        html = clean_html("\n".join(self.html)) if self.html else None

        verdict = detect_loop(self.header, self.types, from_address)
        has_headers = bool(self.msg.keys())
        ok = True
        if not has_headers:
            ok = False
            self.problem("not a mail message (no headers)")
        elif not from_address and not text and not self.attachments:
            ok = False
            self.problem("no sender and no content")
        if has_headers and not from_address:
            self.problem("no sender address")
        return ParsedMessage(
            ok=ok, problems=list(self.problems),
            message_id=next(iter(message_ids(raw_header(self.msg, "Message-ID") or "")), None),
            in_reply_to=message_ids(raw_header(self.msg, "In-Reply-To") or ""),
            references=message_ids(raw_header(self.msg, "References") or ""),
            thread_index=(self.header("Thread-Index") or None),
            from_name=from_name, from_address=from_address,
            reply_to=reply_to[0][1] if reply_to else None,
            to=_unique(a for _, a in self.addresses("To")), cc=_unique(a for _, a in self.addresses("Cc")),
            subject=subject, date=self.date(), text=text, html=html,
            reply_text=strip_quotes(text, subject) if text else "",
            attachments=list(self.attachments),
            auto_submitted=verdict.auto_submitted, is_bounce=verdict.is_bounce, loop_reason=verdict.reason,
            headers_ok=self.headers_ok,
        )

    def date(self) -> Optional[datetime]:
        value = self.header("Date")
        if not value:
            return None
        try:
            parsed = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if parsed is None or parsed.year < 1970 or parsed.year > 2200:
            return None
        if parsed.tzinfo is None:  # "-0000": zone unknown; UTC is the honest reading
            parsed = parsed.replace(tzinfo=timezone.utc)
        try:
            return parsed.astimezone(timezone.utc)
        except (OverflowError, ValueError):
            return None


def _unique(items) -> list[str]:
    out: list[str] = []
    for item in items:
        if item not in out:
            out.append(item)
    return out


def _unflow(text: str, delsp: bool) -> str:
    """RFC 3676 format=flowed: a line ending in a space continues on the next line."""
    out: list[str] = []
    carry = ""
    for line in text.split("\n"):
        if line.startswith(" "):
            line = line[1:]  # space-stuffing
        if line.endswith(" ") and line != "-- ":
            carry += line[:-1] if delsp else line
            continue
        out.append(carry + line)
        carry = ""
    if carry:
        out.append(carry)
    return "\n".join(out)


def _tidy(text: str) -> str:
    text = re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]", "", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return re.sub(r"\n{4,}", "\n\n\n", text).strip("\n").rstrip()
