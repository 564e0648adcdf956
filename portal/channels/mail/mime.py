"""MIME plumbing read from raw header strings: parameters (RFC 2045 / RFC 2231), transfer
encodings, attachment names.

We do not call `Message.get_param()` / `get_payload()`: under `policy.default` they go through
header objects that raise on some broken values, and `get_payload()` silently re-decodes 8-bit
text with the declared charset and errors="replace" before we get to look at the bytes.
"""
from __future__ import annotations

import binascii
import mimetypes
import quopri
import re
from email.message import Message
from typing import Iterable, Optional
from urllib.parse import unquote_to_bytes

from .charsets import decode_bytes
from .headers import b_decode, decode_raw, decode_words, raw_bytes

_MIME_TYPE = re.compile(r"\s*([A-Za-z0-9!#$&^_.+-]+)\s*/\s*([A-Za-z0-9!#$&^_.+-]+)")
_PARAM_NAME = re.compile(r"(.+?)\*(\d+)?(\*)?$")


def raw_header(part: Message, name: str) -> Optional[str]:
    """The first raw value of a header (surrogate-escaped 8-bit bytes kept), or None."""
    wanted = name.lower()
    try:
        items = part.raw_items()
    except Exception:
        items = getattr(part, "_headers", [])
    for key, value in items:
        if str(key).strip().lower() == wanted:
            return value if isinstance(value, str) else str(value)
    return None


def _split(value: str) -> list[str]:
    """Split at ';' outside double quotes."""
    out, current, quoted, escaped = [], [], False, False
    for ch in value:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\" and quoted:
            current.append(ch)
            escaped = True
        elif ch == '"':
            quoted = not quoted
            current.append(ch)
        elif ch == ";" and not quoted:
            out.append("".join(current))
            current = []
        else:
            current.append(ch)
    out.append("".join(current))
    return out


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == '"':
        value = value[1:-1] if value.endswith('"') else value[1:]
        value = re.sub(r"\\(.)", r"\1", value)
    return value


def params(value: Optional[str], hints: Iterable[Optional[str]] = ()) -> tuple[str, dict[str, str]]:
    """('main value' lower-cased, {param: decoded value}) for Content-Type / Content-Disposition.
    RFC 2231 (name*=utf-8''..., continuations) beats a plain parameter of the same name; RFC 2047
    words in plain values (Outlook, most Chinese clients) and raw 8-bit bytes are decoded too."""
    if value is None:
        return "", {}
    hints = list(hints)
    text = raw_bytes(value).decode("utf-8", "surrogateescape")
    pieces = _split(text)
    main = pieces[0].strip().lower()
    plain: dict[str, str] = {}
    extended: dict[str, dict[int, tuple[str, bool]]] = {}
    for piece in pieces[1:]:
        if "=" not in piece:
            continue
        key, raw_value = piece.split("=", 1)
        key = key.strip().lower()
        match = _PARAM_NAME.match(key)
        if match:
            index = int(match.group(2)) if match.group(2) else 0
            encoded = bool(match.group(3)) or match.group(2) is None
            extended.setdefault(match.group(1), {})[index] = (_unquote(raw_value), encoded)
        elif key and key not in plain:
            plain[key] = _unquote(raw_value)
    result = {k: _decode_plain(v, hints) for k, v in plain.items()}
    for name, parts in extended.items():
        result[name] = _decode_extended([parts[i] for i in sorted(parts)], hints)
    return main, result


def _decode_plain(value: str, hints: list) -> str:
    text, _ = decode_raw(value, hints)
    return decode_words(text, hints)[0]


def _decode_extended(parts: list[tuple[str, bool]], hints: list) -> str:
    charset = None
    data = b""
    for i, (value, encoded) in enumerate(parts):
        if encoded and i == 0 and value.count("'") >= 2:
            charset, _lang, value = value.split("'", 2)
        chunk = value.encode("utf-8", "surrogateescape")
        data += unquote_to_bytes(chunk) if encoded else chunk
    return decode_bytes(data, charset or None, hints).text


def content_type(part: Message, parent_type: str = "") -> tuple[str, dict[str, str]]:
    """The part's MIME type (defaulting like RFC 2045: text/plain, message/rfc822 in a digest)
    and its parameters. A value like "multipart/mixed  boundary=x" still yields multipart/mixed."""
    main, found = params(raw_header(part, "Content-Type"))
    match = _MIME_TYPE.match(main)
    if match:
        return f"{match.group(1)}/{match.group(2)}".lower(), found
    return ("message/rfc822" if parent_type == "multipart/digest" else "text/plain"), found


def transfer_decode(part: Message) -> tuple[bytes, Optional[str]]:
    """The part's body bytes after Content-Transfer-Encoding; (bytes, problem or None).
    Unknown encodings give the raw bytes, which is what every mail client shows."""
    payload = getattr(part, "_payload", None)  # the untouched str (8-bit bytes as surrogates)
    if payload is None:
        payload = part.get_payload()
    if isinstance(payload, list):
        return b"", None
    data = payload if isinstance(payload, bytes) else str(payload).encode("utf-8", "surrogateescape")
    cte = (raw_header(part, "Content-Transfer-Encoding") or "").strip().strip("\"'").lower()
    cte = re.sub(r"\(.*?\)", "", cte).split(";")[0].strip()
    if not cte or cte in ("7bit", "8bit", "binary", "7-bit", "8-bit", "7bits", "8bits", "8 bit", "7 bit"):
        return data, None
    if "base64" in cte:
        return b_decode(data.decode("ascii", "ignore")), None
    if "quoted" in cte or cte == "qp":
        try:
            return quopri.decodestring(data), None
        except (ValueError, binascii.Error):
            return data, "quoted-printable body could not be decoded"
    if "uu" in cte:
        return _uudecode(data), None
    return data, f"unknown Content-Transfer-Encoding {cte[:40]!r}"


def _uudecode(data: bytes) -> bytes:
    out = []
    inside = False
    for line in data.splitlines():
        if not inside:
            inside = line.startswith(b"begin ")
            continue
        if line.strip() in (b"end", b"`"):
            break
        try:
            out.append(binascii.a2b_uu(line))
        except binascii.Error:
            # Some encoders miscount the padding; decode what the length byte promises.
            try:
                nbytes = (((line[0] - 32) & 63) * 4 + 5) // 3
                out.append(binascii.a2b_uu(line[:nbytes]))
            except (binascii.Error, IndexError):
                continue
    return b"".join(out) if out else data


def safe_filename(name: Optional[str], index: int, ctype: str) -> str:
    """A name safe to show and store: no directories, no control characters, never empty."""
    name = (name or "").replace("\x00", "")
    name = re.split(r"[\\/]", name)[-1]  # "C:\\Users\\x\\a.pdf" and "../../etc/passwd" -> last part
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip().strip(".").strip()
    if name:
        return name[:200]
    ext = mimetypes.guess_extension(ctype or "", strict=False) if ctype else None
    if ctype == "message/rfc822":
        ext = ".eml"
    return f"attachment-{index}{ext or '.bin'}"
