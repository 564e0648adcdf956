"""The new part of a reply: quoted history and the signature cut off.

Agents read threads; every customer reply repeating the whole conversation below it buries
the new sentence. We cut at the first marker a mail client puts above quoted history. Forwarded
messages are NOT cut: a customer forwarding a mail to the desk wants us to read it.
"""
from __future__ import annotations

import re

_COLON = r"\s*[:：]"
# "On Mon, 1 Jan 2024 at 10:00, Ann <a@b.c> wrote:" and translations, ending the line.
_WROTE = re.compile(
    r"(wrote|writes|schrieb|a écrit|escribió|ha scritto|escreveu|написал\(а\)|написал|написала|"
    r"写道|寫道|書きました|님이 작성)\s*[:：]?\s*$", re.I)
_WROTE_START = re.compile(r"^(On|Am|Le|El|Il|Em|在|於|于|\d{4}[-/年]|\S.{0,80}(于|於))", re.I)
_SEPARATORS = [
    re.compile(r"^\s*-{2,}\s*(Original Message|Ursprüngliche Nachricht|Message d'origine|Mensaje original)"
               r"\s*-{2,}", re.I),
    re.compile(r"^\s*-{2,}\s*(原始邮件|原始郵件|原邮件|原郵件)\s*-{2,}"),
    re.compile(r"^\s*-{2,}\s*Reply above this line", re.I),
]
# Outlook / Foxmail / QQ Mail header blocks: "From:" then, within a few lines, "Sent:"/"Date:" and
# "To:"/"Subject:" (or their Chinese names).
_BLOCK_FROM = re.compile(r"^\s*\*?(From|发件人|發件人|寄件者|寄件人|Von|De)\*?" + _COLON, re.I)
_BLOCK_DATE = re.compile(r"^\s*\*?(Sent|Date|发送时间|發送時間|日期|时间|時間|寄件日期|Gesendet|Envoyé)\*?" + _COLON,
                         re.I)
_BLOCK_TO = re.compile(r"^\s*\*?(To|Subject|Cc|收件人|收件者|主题|主題|主旨|抄送|An|Betreff|À|Objet)\*?" + _COLON, re.I)
# Forwarded content is what the customer wants us to read: nothing below these is cut.
_FORWARD = re.compile(r"^\s*(-{2,}\s*(Forwarded message|Forwarded Message|转发邮件信息|轉寄郵件|转发的邮件|"
                      r"Weitergeleitete Nachricht|Message transféré)\s*-{2,}|Begin forwarded message:)", re.I)
_FORWARD_SUBJECT = re.compile(r"^\s*(fwd?|转发|轉寄|tr|wg)\s*[:：]", re.I)
_SIGNATURE = re.compile(r"^--\s?$")
_RULE = re.compile(r"^\s*([-_=*]{5,})?\s*$")


def _is_header_block(lines: list[str], i: int) -> bool:
    if not _BLOCK_FROM.match(lines[i]):
        return False
    window = lines[i + 1:i + 7]
    return any(_BLOCK_DATE.match(line) for line in window) and any(_BLOCK_TO.match(line) for line in window)


def _is_wrote_line(lines: list[str], i: int) -> bool:
    line = lines[i].strip()
    if len(line) < 300 and _WROTE.search(line) and _WROTE_START.match(line):
        return True
    # Gmail wraps long attributions onto a second line: "On ..., Ann <ann@\nexample.com> wrote:"
    if i + 1 < len(lines) and _WROTE_START.match(line):
        joined = line + " " + lines[i + 1].strip()
        return len(joined) < 300 and bool(_WROTE.search(joined))
    return False


def _quote_start(lines: list[str]) -> int | None:
    for i, raw in enumerate(lines):
        line = raw.replace("\xa0", " ")
        if _FORWARD.match(line):
            return None
        if any(p.match(line) for p in _SEPARATORS):
            return i
        if _is_wrote_line(lines, i) or _is_header_block(lines, i):
            return i
    return None


def strip_quotes(text: str, subject: str = "") -> str:
    """`text` without quoted history and signature; the full text when nothing would be left.
    A forward (by its subject) is kept whole: the history is the content."""
    if not text or _FORWARD_SUBJECT.match(subject or ""):
        return text
    lines = text.split("\n")
    cut = _quote_start([l.replace("\xa0", " ") for l in lines])
    if cut is not None:
        lines = lines[:cut]
    # "> quoted" lines trailing the message (bottom-quoting replies) - not ones interleaved with answers.
    end = len(lines)
    while end and (lines[end - 1].lstrip().startswith(">") or not lines[end - 1].strip()):
        end -= 1
    if any(l.lstrip().startswith(">") for l in lines[end:]):
        lines = lines[:end]
    for i in range(len(lines) - 1, -1, -1):
        if _SIGNATURE.match(lines[i]):
            if any(l.strip() for l in lines[:i]):
                lines = lines[:i]
            break
    while lines and _RULE.match(lines[-1]):  # the "____" rule Outlook puts above its header block
        lines.pop()
    reply = "\n".join(lines).strip("\n").rstrip()
    return reply if reply.strip() else text
