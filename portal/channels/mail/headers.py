"""Header values as a person would read them: RFC 2047 encoded-words, raw 8-bit bytes, addresses.

We read the raw header strings (`Message.raw_items()`) and decode them ourselves rather than
trusting `email.policy.default`'s header objects: those replace undeclared GB2312/Big5 bytes with
U+FFFD (the text is lost) and some malformed values make them raise.
"""
from __future__ import annotations

import binascii
import re
from email.utils import getaddresses
from typing import Iterable, Optional

from .charsets import decode_bytes

_ENCODED_WORD = re.compile(r"=\?([^?\s]*)\?([bBqQ])\?([^?]*?)\?=")
_QP_BYTE = re.compile(rb"=([0-9A-Fa-f]{2})")
_FOLD = re.compile(rb"\r?\n[ \t]*|\r")
_SPACES = re.compile(r"\s+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")


def raw_bytes(value: object) -> bytes:
    """The original bytes of a header value from a bytes-parsed message (8-bit bytes are kept as
    surrogate escapes by the parser), unfolded."""
    if isinstance(value, bytes):
        data = value
    else:
        data = str(value).encode("utf-8", "surrogateescape")
    return _FOLD.sub(b" ", data).strip()


def b_decode(text: str) -> bytes:
    """Base64 that forgives missing padding and stray characters (both common in subjects)."""
    cleaned = re.sub(r"[^A-Za-z0-9+/]", "", text)
    cleaned = cleaned[: len(cleaned) - len(cleaned) % 4] if len(cleaned) % 4 == 1 else cleaned
    cleaned += "=" * (-len(cleaned) % 4)
    try:
        return binascii.a2b_base64(cleaned)
    except (binascii.Error, ValueError):
        return b""


def q_decode(text: str) -> bytes:
    data = text.replace("_", " ").encode("utf-8", "surrogateescape")
    return _QP_BYTE.sub(lambda m: bytes([int(m.group(1), 16)]), data)


def decode_words(text: str, hints: Iterable[Optional[str]] = ()) -> tuple[str, bool]:
    """Decode RFC 2047 encoded-words anywhere in `text` (also inside quotes, where broken mailers
    put them). Adjacent words of one charset are joined as bytes first, because encoders split
    multi-byte characters across words. Returns (text, lossy)."""
    hints = list(hints)
    out: list[str] = []
    lossy = False
    pos = 0
    run: list[tuple[str, bytes]] = []  # consecutive (charset, bytes) waiting to be decoded

    def flush() -> None:
        nonlocal lossy
        while run:
            charset = run[0][0]
            chunk = b""
            while run and run[0][0] == charset:
                chunk += run.pop(0)[1]
            decoded = decode_bytes(chunk, charset, hints)
            lossy = lossy or decoded.lossy
            out.append(decoded.text)

    for match in _ENCODED_WORD.finditer(text):
        between = text[pos:match.start()]
        if between.strip() or not run:  # whitespace between two encoded-words is not text
            flush()
            out.append(between)
        charset = match.group(1).split("*", 1)[0].lower()  # RFC 2231 language suffix
        payload = match.group(3)
        data = b_decode(payload) if match.group(2) in "bB" else q_decode(payload)
        run.append((charset, data))
        pos = match.end()
    flush()
    out.append(text[pos:])
    return "".join(out), lossy


def decode_raw(value: object, hints: Iterable[Optional[str]] = ()) -> tuple[str, bool]:
    """Raw header value -> str with 8-bit bytes decoded, encoded-words left in place.
    Returns (text, had_8bit)."""
    data = raw_bytes(value)
    if all(b < 0x80 for b in data):
        return data.decode("ascii"), False
    return decode_bytes(data, None, hints).text, True


def clean_spaces(text: str) -> str:
    return _SPACES.sub(" ", _CONTROL.sub("", text)).strip()


def decode_text_header(value: object, hints: Iterable[Optional[str]] = ()) -> tuple[str, bool]:
    """A free-text header (Subject): fully decoded, whitespace normalised. (text, was_broken)."""
    hints = list(hints)
    text, had_8bit = decode_raw(value, hints)
    text, lossy = decode_words(text, hints)
    return clean_spaces(text.replace("\ufeff", "")), had_8bit or lossy


def _plausible(address: str) -> bool:
    return bool(address) and " " not in address and address.count("@") == 1 and \
        not address.startswith("@") and not address.endswith("@")


def parse_addresses(value: object, hints: Iterable[Optional[str]] = ()) -> tuple[list[tuple[str, str]], bool]:
    """[(display name, address lower-cased)] from an address header. Addresses are split before
    display names are decoded, so a decoded comma or quote in a name cannot split an address."""
    hints = list(hints)
    text, broken = decode_raw(value, hints)
    pairs: list[tuple[str, str]] = []
    try:
        parsed = getaddresses([text])
    except Exception:  # the stdlib address parser has raised on odd input before; fall through
        parsed = []
        broken = True
    for name, address in parsed:
        address = address.strip().strip("<>\"'").strip()
        if not _plausible(address):
            continue
        display, _ = decode_words(name, hints)
        pairs.append((clean_spaces(display.strip().strip("\"'")), address.lower()))
    if not pairs:
        # getaddresses gives up on e.g. unbalanced quotes; pick out anything that looks like an address.
        for address in _ADDRESS.findall(text):
            pairs.append(("", address.lower()))
        if pairs:
            broken = True
    return pairs, broken


def message_ids(value: object) -> list[str]:
    """Message ids without brackets, in order, duplicates dropped. Tolerates ids without brackets
    and comments between them."""
    text = raw_bytes(value).decode("ascii", "replace")
    found = re.findall(r"<\s*([^<>\s]+)\s*>", text)
    if not found:
        found = [t for t in re.split(r"[\s,]+", text) if "@" in t or (t and len(t) > 8)]
        found = [t.strip("<>()\"'") for t in found]
    seen: list[str] = []
    for item in found:
        if item and item not in seen and "\ufffd" not in item:
            seen.append(item)
    return seen


# Outlook's Thread-Index (MS-OXOMSG 2.2.1.3): base64 of a 22-byte header block (a reserved byte, a
# FILETIME and a GUID) identifying the conversation, then 5 bytes per reply. Replies in one
# conversation share the first 22 bytes, whatever their other headers say.
THREAD_INDEX_HEADER_BYTES = 22


def conversation_key(thread_index: Optional[str]) -> Optional[str]:
    """The conversation a Thread-Index names (its 22-byte header block, as hex), or None when
    the value is not a well-formed Thread-Index (a wrong length or not base64)."""
    if not thread_index:
        return None
    try:
        data = binascii.a2b_base64("".join(thread_index.split()).encode("ascii"), strict_mode=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        return None
    if len(data) < THREAD_INDEX_HEADER_BYTES or (len(data) - THREAD_INDEX_HEADER_BYTES) % 5:
        return None
    block = data[:THREAD_INDEX_HEADER_BYTES]
    return None if not any(block[6:]) else block.hex()  # an all-zero GUID names nothing

