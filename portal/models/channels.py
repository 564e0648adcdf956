"""Webhook and WeChat intake: the channels an admin sets up, and every delivery they received.

A `WebhookChannel` turns signed JSON posts into tickets through its field mapping; a
`WeChatAccount` turns a WeChat Official Account's message pushes into tickets and threads. Each
request that reaches a channel's endpoint is kept as a `ChannelDelivery` (its raw body, what became
of it and why), whatever became of it: nothing is lost silently, and the admin's page lists the
failures first.

Both endpoints are addressed by `public_id` (random, unguessable, in the URL the admin pastes into
the sender), never by the row id.
"""
from __future__ import annotations

from datetime import datetime
from typing import Optional

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..extensions import db
from .base import UTCDateTime, utcnow
from .org import Department

# What became of a delivery. "ticket"/"thread": taken; "duplicate": seen before (answered with the
# earlier ticket); "event": a WeChat event (subscribe...), no ticket by design; "rejected": refused
# (bad signature, bad body, missing value...; `problem` says why).
DELIVERY_STATUSES = ("ticket", "thread", "duplicate", "event", "rejected")
CHANNEL_KINDS = ("webhook", "wechat")


class WebhookChannel(db.Model):
    __tablename__ = "webhook_channels"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The HMAC key. Kept as is: verifying a signature needs the key itself (a hash would not do).
    secret: Mapped[str] = mapped_column(String(100))
    secret_rotated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # [{"field": "subject" | "cf.order" | ..., "path": "data.title", "default": "..."}], validated at save
    mapping: Mapped[list] = mapped_column(JSON, default=list)
    external_id_path: Mapped[Optional[str]] = mapped_column(String(300))
    conversation_path: Mapped[Optional[str]] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    department: Mapped[Department] = relationship()


class WeChatAccount(db.Model):
    __tablename__ = "wechat_accounts"
    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id", ondelete="CASCADE"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    app_id: Mapped[str] = mapped_column(String(40))
    token: Mapped[str] = mapped_column(String(64))  # the console's "Token", for the sha1 signature
    # The console's message encryption mode: plaintext / compatible / safe (protocol.MODES).
    mode: Mapped[str] = mapped_column(String(12), default="plaintext", server_default="plaintext")
    # The console's EncodingAESKey, sealed like a mailbox password (channels.mail.credentials): the
    # desk needs the key itself to decrypt, and a database dump alone shouldn't give it away.
    encoding_aes_key: Mapped[Optional[str]] = mapped_column(Text)
    reply_zh: Mapped[str] = mapped_column(Text, default="")
    reply_en: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    department: Mapped[Department] = relationship()


class ChannelDelivery(db.Model):
    """One request to a webhook channel or a WeChat account, kept raw with what became of it."""

    __tablename__ = "channel_deliveries"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(10))  # webhook / wechat
    webhook_id: Mapped[Optional[int]] = mapped_column(ForeignKey("webhook_channels.id", ondelete="CASCADE"))
    wechat_id: Mapped[Optional[int]] = mapped_column(ForeignKey("wechat_accounts.id", ondelete="CASCADE"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(20))
    http_status: Mapped[int] = mapped_column(Integer)
    problem: Mapped[Optional[str]] = mapped_column(Text)
    # The sender's id of the message (webhook: the mapped external id; WeChat: MsgId) and the
    # conversation it belongs to (webhook: the mapped key; WeChat: the sender's openid).
    external_id: Mapped[Optional[str]] = mapped_column(String(255))
    conversation: Mapped[Optional[str]] = mapped_column(String(255))
    ticket_id: Mapped[Optional[int]] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"), index=True)
    thread_id: Mapped[Optional[int]] = mapped_column(ForeignKey("threads.id", ondelete="SET NULL"))
    payload: Mapped[str] = mapped_column(Text, default="")  # the raw body (decoded; undecodable bytes replaced)

    __table_args__ = (
        Index("ix_channel_deliveries_webhook", "webhook_id", "status", "received_at"),
        Index("ix_channel_deliveries_wechat", "wechat_id", "status", "received_at"),
        Index("ix_channel_deliveries_webhook_conversation", "webhook_id", "conversation"),
        Index("ix_channel_deliveries_webhook_external", "webhook_id", "external_id"),
        Index("ix_channel_deliveries_wechat_external", "wechat_id", "external_id"),
    )
