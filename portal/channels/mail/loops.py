"""Mail the desk must never answer automatically: auto-replies, lists, bounces and reports.

Answering an out-of-office with an acknowledgement that triggers another out-of-office is how a
help desk sends ten thousand mails overnight (RFC 3834). The first reason found is reported so
an admin can see why a message got no acknowledgement.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Optional

_BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon)@", re.I)
_SUPPRESS = re.compile(r"\b(all|oof|autoreply)\b", re.I)
_REPORT_TYPES = ("multipart/report", "message/delivery-status", "message/global-delivery-status",
                 "message/disposition-notification", "message/feedback-report")


@dataclass(frozen=True)
class LoopVerdict:
    auto_submitted: bool
    is_bounce: bool
    reason: Optional[str]


def detect_loop(header: Callable[[str], Optional[str]], content_types: list[str],
                from_address: Optional[str]) -> LoopVerdict:
    """`header(name)` gives a decoded header value or None; `content_types` are the message's MIME
    types outside nested messages (a forwarded bounce inside an attachment does not count)."""
    reasons: list[str] = []
    auto = (header("Auto-Submitted") or "").strip().lower()
    auto_submitted = bool(auto) and auto.split(";")[0].strip() != "no"
    if auto_submitted:
        reasons.append(f"Auto-Submitted: {auto}")
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder"):
        value = header(name)
        if value is not None:
            auto_submitted = True
            reasons.append(f"{name}: {value.strip()}")
    precedence = (header("Precedence") or header("X-Precedence") or "").strip().lower()
    if precedence in ("bulk", "junk", "list", "auto_reply"):
        reasons.append(f"Precedence: {precedence}")
        auto_submitted = auto_submitted or precedence == "auto_reply"
    suppress = header("X-Auto-Response-Suppress")
    if suppress and _SUPPRESS.search(suppress):
        reasons.append(f"X-Auto-Response-Suppress: {suppress.strip()}")
    for name in ("List-Id", "List-Unsubscribe"):
        if header(name) is not None:
            reasons.append(f"{name} present (mailing list)")

    bounce_reasons: list[str] = []
    for ctype in _REPORT_TYPES:
        if ctype in content_types:
            bounce_reasons.append(f"{ctype} (delivery or read report)")
            break
    if from_address and _BOUNCE_SENDERS.match(from_address):
        bounce_reasons.append(f"sent by {from_address}")
    return_path = header("Return-Path")
    if return_path is not None and re.fullmatch(r"\s*<\s*>\s*", return_path):
        # The null sender is used by bounces and (RFC 3834) by auto-replies: never answer it.
        reasons.append("empty Return-Path <>")
    is_bounce = bool(bounce_reasons)
    reason = "; ".join(bounce_reasons + reasons) or None
    return LoopVerdict(auto_submitted=auto_submitted, is_bounce=is_bounce, reason=reason)
