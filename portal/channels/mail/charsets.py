"""Turning the bytes of a mail into text when the declared charset is missing, wrong or exotic.

Mail from China (and from old Outlook Express / Foxmail installs everywhere) routinely says
`gb2312` while using GBK characters, says `us-ascii` over Big5 bytes, or puts raw 8-bit bytes in
headers with no declaration at all. The strategy, in order:

1. the declared charset through an alias table (gb2312 -> gb18030 and so on: decode with the
   superset, never with the narrow label);
2. valid UTF-8 wins over a legacy label (mislabelled UTF-8 is the most common mistake);
3. otherwise score a few candidate decodings by how plausible the resulting text is (common
   hanzi, kana, hangul, accented Latin inside Latin words...) - charset detectors guess badly on
   the 5-30 bytes of a subject line, and this scorer knows which hanzi are common;
4. charset-normalizer's guess joins the candidates for longer texts in other scripts;
5. last resort: a lossy decode, reported as a problem by the caller.
"""
from __future__ import annotations

import codecs
import unicodedata
from dataclasses import dataclass
from typing import Iterable, Optional

import charset_normalizer

# Labels seen in real mail -> the Python codec to decode them with. Supersets on purpose: GBK and
# GB18030 senders label their mail gb2312, Big5 senders use HKSCS characters, Korean Outlook says
# ks_c_5601-1987 for what is really cp949, and Japanese Windows says shift_jis for cp932.
_ALIASES = {
    "gb2312": "gb18030", "gb_2312-80": "gb18030", "gb_2312": "gb18030", "csgb2312": "gb18030",
    "gbk": "gb18030", "x-gbk": "gb18030", "cp936": "gb18030", "ms936": "gb18030", "windows-936": "gb18030",
    "euc-cn": "gb18030", "x-euc-cn": "gb18030", "chinese": "gb18030", "iso-ir-58": "gb18030",
    "gb18030": "gb18030", "gb18030-2000": "gb18030", "gb18030-2005": "gb18030",
    "big5": "big5hkscs", "big-5": "big5hkscs", "x-big5": "big5hkscs", "cn-big5": "big5hkscs",
    "csbig5": "big5hkscs", "big5-hkscs": "big5hkscs", "cp950": "big5hkscs", "x-x-big5": "big5hkscs",
    "ks_c_5601-1987": "cp949", "ks_c_5601": "cp949", "ksc5601": "cp949", "ksc_5601": "cp949",
    "euc-kr": "cp949", "x-euc-kr": "cp949", "cp949": "cp949", "windows-949": "cp949", "x-windows-949": "cp949",
    "shift_jis": "cp932", "shift-jis": "cp932", "sjis": "cp932", "x-sjis": "cp932", "ms_kanji": "cp932",
    "csshiftjis": "cp932", "windows-31j": "cp932", "cp932": "cp932", "x-ms-cp932": "cp932",
    "euc-jp": "euc_jis_2004", "x-euc-jp": "euc_jis_2004", "ujis": "euc_jis_2004",
    "iso-2022-jp": "iso2022_jp", "csiso2022jp": "iso2022_jp", "iso-2022-jp-1": "iso2022_jp",
    "iso-2022-jp-2": "iso2022_jp", "iso-2022-jp-3": "iso2022_jp", "iso-2022-jp-2004": "iso2022_jp",
    "iso-2022-jp-ms": "iso2022_jp", "cp50220": "iso2022_jp", "cp50221": "iso2022_jp", "cp50222": "iso2022_jp",
    # Browsers decode latin-1 as windows-1252 (WHATWG); mail clients do the same, so smart quotes
    # and the euro sign survive.
    "iso-8859-1": "cp1252", "iso8859-1": "cp1252", "latin1": "cp1252", "latin-1": "cp1252", "l1": "cp1252",
    "us-ascii": "ascii", "ascii": "ascii", "ansi_x3.4-1968": "ascii", "us": "ascii", "iso646-us": "ascii",
    "utf8": "utf-8", "utf-8": "utf-8", "unicode-1-1-utf-8": "utf-8", "x-unicode20utf8": "utf-8",
    "unicode-1-1-utf-7": "utf-7", "utf-7": "utf-7",
    "iso-8859-8-i": "iso8859_8", "iso-8859-6-i": "iso8859_6", "tis-620": "cp874", "windows-874": "cp874",
    "x-mac-roman": "mac_roman", "macintosh": "mac_roman", "koi8-u": "koi8_u", "koi8-r": "koi8_r",
}
# ISO-2022-JP in the wild carries half-width katakana and NEC/IBM extensions; try wider variants.
_ISO2022_JP_CHAIN = ("iso2022_jp", "iso2022_jp_2", "iso2022_jp_ext", "iso2022_jp_2004", "iso2022_jp_3")
# Encodings whose bytes are all 7-bit or that use NULs: the "is it plain ASCII" shortcut is wrong.
_STATEFUL_OR_WIDE = ("iso2022", "utf_7", "utf_16", "utf_32", "hz")
# Guesses tried when nothing declared works, in order of likelihood for this desk (ties go first).
_GUESSES = ("gb18030", "big5hkscs", "cp932", "cp949", "euc_jis_2004", "cp1252")


@dataclass(frozen=True)
class Decoded:
    text: str
    charset: str  # the codec actually used
    lossy: bool = False  # True when undecodable bytes were replaced with U+FFFD


def codec_for(label: Optional[str]) -> Optional[str]:
    """The Python codec for a charset label from a mail, or None when unknown."""
    if not label:
        return None
    name = str(label).strip().strip("\"'").strip().lower()
    if name.startswith("charset="):  # seen: charset="charset=us-ascii"
        name = name[8:].strip("\"' ")
    if not name:
        return None
    if name in _ALIASES:
        return _ALIASES[name]
    if name.startswith("iso-2022-jp"):
        return "iso2022_jp"
    try:
        return codecs.lookup(name).name
    except (LookupError, ValueError, TypeError):
        return None


def _strict(data: bytes, codec: str) -> Optional[str]:
    chain = _ISO2022_JP_CHAIN if codec == "iso2022_jp" else (codec,)
    for name in chain:
        try:
            return data.decode(name)
        except (UnicodeDecodeError, LookupError, ValueError, TypeError):
            continue
    return None


def _is_ascii(data: bytes) -> bool:
    try:
        data.decode("ascii")
    except UnicodeDecodeError:
        return False
    return b"\x1b" not in data  # ESC: ISO-2022 shift sequences hide CJK inside 7-bit bytes


def _common_hanzi(ch: str) -> float:
    """1 for hanzi in GB2312 level 1 (the 3,755 common simplified characters) or Big5's frequent
    range (traditional), 0.3 for GB2312 level 2, negative for rare characters: text decoded with
    the wrong CJK codec is full of rare characters."""
    try:
        lead = ch.encode("gb2312")[0]
        return 1.0 if lead <= 0xD7 else 0.3
    except UnicodeEncodeError:
        pass
    try:
        lead = ch.encode("big5")[0]
        return 0.9 if 0xA4 <= lead <= 0xC6 else 0.2
    except UnicodeEncodeError:
        return -0.5


def _char_score(text: str, i: int, codec: str) -> float:
    ch = text[i]
    cp = ord(ch)
    prev_ascii = i > 0 and text[i - 1].isascii() and text[i - 1].isalpha()
    next_ascii = i + 1 < len(text) and text[i + 1].isascii() and text[i + 1].isalpha()
    sandwiched = prev_ascii and next_ascii  # a CJK/Cyrillic char inside a Latin word: a mis-decode
    if 0x4E00 <= cp <= 0x9FFF:
        return -1.0 if sandwiched else _common_hanzi(ch)
    if 0x3040 <= cp <= 0x30FF:  # kana; GB2312 has kana rows, but Chinese text rarely uses them
        return -1.0 if sandwiched else (1.0 if codec not in ("gb18030", "big5hkscs") else 0.1)
    if 0xAC00 <= cp <= 0xD7A3:  # hangul: KS X 1001's 2,350 syllables are the common ones
        try:
            # Python's euc_kr also encodes rare syllables as 8-byte make-up sequences; only the
            # 2-byte ones are the common 2,350.
            common = len(ch.encode("euc_kr")) == 2
        except UnicodeEncodeError:
            common = False
        return -0.5 if not common else (-1.0 if sandwiched else 1.0)
    if 0x3000 <= cp <= 0x303F or 0xFF01 <= cp <= 0xFF5E:  # CJK and full-width punctuation
        return 1.0
    if 0xFF61 <= cp <= 0xFF9F:  # half-width katakana: the signature of bytes read as Shift_JIS
        return -0.6
    if 0xE000 <= cp <= 0xF8FF or cp == 0xFFFD:
        return -1.0
    cat = unicodedata.category(ch)
    if cat[0] == "C":
        return -1.0
    if cat[0] == "L":
        if "LATIN" in unicodedata.name(ch, ""):
            # Accented letters live inside mostly-ASCII words; a "word" of nothing but accented
            # letters (Ã¤Ã¶...) is CJK or Cyrillic read as Latin.
            return 0.8 if (prev_ascii or next_ascii) else 0.1
        return 0.2 if (prev_ascii or next_ascii) else 0.8
    if cat[0] == "P":
        return 0.6
    if cat == "Zs":
        return 0.3
    if cat == "Sc":
        return 0.5
    return -0.2


def plausibility(text: str, codec: str, sample: int = 3000) -> float:
    """Mean score of the non-ASCII characters (1 = reads like real text, < 0 = garbage)."""
    total, count = 0.0, 0
    for i, ch in enumerate(text):
        if ord(ch) < 0x80:
            continue
        total += _char_score(text, i, codec)
        count += 1
        if count >= sample:
            break
    return total / count if count else 1.0


def _normalizer_guess(data: bytes) -> Optional[str]:
    # Only worth asking with enough bytes to go on; on a subject line it guesses cp1006 for "ü".
    if sum(b >= 0x80 for b in data[:4000]) < 40:
        return None
    try:
        best = charset_normalizer.from_bytes(data[:20000]).best()
    except Exception:  # a detector bug must not lose a customer's mail
        return None
    return codec_for(best.encoding) if best is not None else None


def detect(data: bytes, hints: Iterable[Optional[str]] = ()) -> Optional[Decoded]:
    """The most plausible strict decoding among the hints and the usual suspects, or None."""
    candidates: list[str] = []
    for label in [*hints, *_GUESSES, _normalizer_guess(data)]:
        codec = codec_for(label) if label else None
        if codec and codec not in candidates and codec != "ascii":
            candidates.append(codec)
    best: Optional[tuple[float, int, str, str]] = None
    for rank, codec in enumerate(candidates):
        text = _strict(data, codec)
        if text is None:
            continue
        score = plausibility(text, codec)
        # Earlier candidates (the message's own hints, then the likely ones for this desk) win ties.
        key = (round(score, 2), -rank)
        if best is None or key > best[:2]:
            best = (key[0], key[1], codec, text)
    return Decoded(best[3], best[2]) if best else None


def decode_bytes(data: bytes, declared: Optional[str] = None, hints: Iterable[Optional[str]] = ()) -> Decoded:
    """Decode text bytes; never raises. `hints` are other charsets seen in the same message."""
    if not data:
        return Decoded("", codec_for(declared) or "ascii")
    for bom, codec in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF32_LE, "utf-32"),
                       (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF16_LE, "utf-16"),
                       (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            text = _strict(data, codec)
            if text is not None:
                return Decoded(text, codec)
    codec = codec_for(declared)
    wide = bool(codec) and any(codec.replace("-", "_").startswith(p) for p in _STATEFUL_OR_WIDE)
    if _is_ascii(data) and not wide:
        return Decoded(data.decode("ascii"), "ascii")
    hints = list(hints)
    if codec and codec not in ("ascii", "utf-8") and not wide:
        utf8 = _strict(data, "utf-8")
        if utf8 is not None and _utf8_beats_label(utf8, codec):
            return Decoded(_repair_double_encoding(utf8, [codec, *hints]), "utf-8")
    if codec and codec != "ascii":
        text = _strict(data, codec)
        if text is None:
            # One broken byte in a long body (a cut multi-byte character) must not send the
            # whole text through detection: the label is right, keep it and mark the loss.
            nearly = _nearly(data, codec)
            if nearly is not None:
                return nearly
        if text is not None:
            if wide or codec == "utf-8":
                return Decoded(text, codec)
            score = plausibility(text, codec)
            if score >= 0.3:
                return Decoded(text, codec)
            # The label decodes but reads as garbage (Big5 labelled gb2312...): a clearly better
            # reading wins, otherwise the sender's word stands.
            other = detect(data, [codec, *hints])
            if other and other.charset != codec and plausibility(other.text, other.charset) >= score + 0.4:
                return other
            return Decoded(text, codec)
    utf8 = _strict(data, "utf-8")
    if utf8 is not None:
        return Decoded(_repair_double_encoding(utf8, hints), "utf-8")
    found = detect(data, hints)
    nearly = _nearly_utf8(data)
    if nearly is not None and (found is None or plausibility(found.text, found.charset) < 0.6):
        return nearly
    if found is not None:
        return found
    # Last resort: something readable, flagged as lossy so the caller reports it.
    fallback = codec if codec and codec != "ascii" else "utf-8"
    try:
        return Decoded(data.decode(fallback, errors="replace"), fallback, lossy=True)
    except (LookupError, ValueError, TypeError):
        return Decoded(data.decode("utf-8", errors="replace"), "utf-8", lossy=True)


def _utf8_beats_label(utf8: str, codec: str) -> bool:
    """Valid UTF-8 read under a legacy label. For single-byte labels validity alone is proof
    (Latin-1 text is practically never valid UTF-8); a multi-byte label needs more, since two
    GBK bytes can happen to form one valid UTF-8 character (中 -> U+05D0)."""
    if codec in ("gb18030", "big5hkscs", "cp949", "cp932", "euc_jis_2004", "euc_jp", "gbk", "big5"):
        return sum(ord(c) >= 0x800 for c in utf8) >= 2
    return True


def _nearly(data: bytes, codec: str) -> Optional[Decoded]:
    """A label that fits all but a few bytes is still the right label: better one U+FFFD than a
    whole text of mojibake from a detector."""
    try:
        text = data.decode(codec, errors="replace")
    except (LookupError, ValueError, TypeError):
        return None
    bad = text.count("\ufffd")
    good = sum(ord(c) >= 0x80 and c != "\ufffd" for c in text)
    if good >= 3 and bad * 10 <= good and (codec == "utf-8" or plausibility(text, codec) >= 0.5):
        return Decoded(text, codec, lossy=True)
    return None


def _nearly_utf8(data: bytes) -> Optional[Decoded]:
    return _nearly(data, "utf-8")


def _repair_double_encoding(text: str, hints: Iterable[Optional[str]]) -> str:
    """Undo "legacy bytes read as Latin-1 and saved as UTF-8" (seen in Big5 subjects relayed by
    old gateways: 大補帖 arrives as ¤j¸É©«): only when every character fits in one byte and the
    bytes read far better in a CJK charset."""
    if not text or any(ord(c) > 0xFF for c in text) or sum(ord(c) >= 0x80 for c in text) < 4:
        return text
    try:
        data = text.encode("latin-1")
    except UnicodeEncodeError:
        return text
    found = detect(data, [h for h in hints if codec_for(h) not in (None, "ascii", "utf-8", "cp1252")])
    if found is None or found.charset == "cp1252":
        return text
    if plausibility(found.text, found.charset) >= max(0.6, plausibility(text, "utf-8") + 0.4):
        return found.text
    return text
