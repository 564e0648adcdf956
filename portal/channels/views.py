"""Web endpoints of the webhook and WeChat channels, and their admin screens (Admin → Channels).

Thin: the intake modules decide what becomes of a request, `webhook.setup` saves channels. The
public endpoints take no cookies (CSRF-exempt; they are authenticated by their signatures).
Admin screens are for admins only: a channel creates tickets in any department, and its delivery
log holds raw payloads.
"""
from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, select

from ..admin import register_admin_tab
from ..admin.access import guard, require_admin
from ..api.problems import problem
from ..extensions import csrf, db, htmx
from ..i18n import read_text
from ..models import ChannelDelivery, Department, WebhookChannel, WeChatAccount, utcnow
from ..redirects import see_other
from .forms import EMPTY_ROWS, WECHAT_MODES, WebhookChannelForm, WeChatAccountForm, mapping_rows
from .webhook import intake as webhook_intake
from .webhook.mapping import STANDARD_FIELDS, known_fields
from .webhook.setup import MappingInvalid, draft_channel, new_public_id, rotate_secret, save_channel
from .wechat import intake as wechat_intake
from .wechat import protocol

public = Blueprint("channels", __name__, url_prefix="/channels")
admin = Blueprint("channels_admin", __name__, url_prefix="/admin/channels")
DELIVERIES_SHOWN = 50
SECRET_KEY = "webhook_secret_once"  # the session key the new secret waits in until its page shows it
FIELD_LABELS = {"subject": _l("Subject"), "body": _l("Message"), "contact_email": _l("Contact email"),
                "contact_name": _l("Contact name"), "contact_phone": _l("Contact phone"),
                "priority": _l("Priority"), "tags": _l("Tags")}
STATUS_LABELS = {"ticket": _l("New ticket"), "thread": _l("Added to a ticket"), "duplicate": _l("Duplicate"),
                 "event": _l("Event"), "rejected": _l("Refused")}


# --------------------------------------------------------------------------------------------
# Public endpoints
# --------------------------------------------------------------------------------------------
@public.post("/webhook/<public_id>")
def webhook_receive(public_id: str):
    channel = db.session.scalar(select(WebhookChannel).where(WebhookChannel.public_id == public_id))
    if channel is None:
        return problem(404, "Not Found", "There is no webhook channel at this address.")
    limit = webhook_intake.body_limit()
    body = request.stream.read(limit + 1)
    result = webhook_intake.receive(channel, body[:limit], request.headers, too_large=len(body) > limit)
    db.session.commit()
    delivery = result.delivery
    if delivery.status == "rejected":
        return problem(delivery.http_status, result.title, read_text(delivery.problem), result.errors or None)
    return {"status": delivery.status, "ticket": delivery.ticket_id, "thread": delivery.thread_id,
            "delivery": delivery.id}, delivery.http_status


@public.route("/wechat/<public_id>", methods=["GET", "POST"])
def wechat_receive(public_id: str):
    account = db.session.scalar(select(WeChatAccount).where(WeChatAccount.public_id == public_id))
    if account is None:
        abort(404)
    args = request.args
    if request.method == "GET":  # the console's "verify the server URL" (plain sha1 in every mode)
        if not protocol.signature_ok(account.token, args.get("timestamp", ""), args.get("nonce", ""),
                                     args.get("signature", "")):
            return "bad signature", 403, {"Content-Type": "text/plain"}
        return args.get("echostr", ""), 200, {"Content-Type": "text/plain"}
    body = request.stream.read(protocol.MAX_BODY + 1)
    result = wechat_intake.take(account, body, args)
    db.session.commit()
    if result.delivery.http_status == 403:
        return "forbidden", 403, {"Content-Type": "text/plain"}
    if result.delivery.http_status >= 500:
        return "server error", result.delivery.http_status, {"Content-Type": "text/plain"}
    if result.delivery.http_status >= 400:
        text = read_text(result.delivery.problem) or "bad request"
        return text, result.delivery.http_status, {"Content-Type": "text/plain"}
    if result.reply is None:
        return "success", 200, {"Content-Type": "text/plain"}  # WeChat's "received, nothing to say"
    return result.reply, 200, {"Content-Type": "application/xml; charset=utf-8"}


# --------------------------------------------------------------------------------------------
# Admin screens
# --------------------------------------------------------------------------------------------
@admin.before_request
def _admins_only():
    refused = guard()
    if refused is not None:
        return refused
    require_admin()
    return None


def _deliveries(column, owner_id: int) -> list[ChannelDelivery]:
    """The latest deliveries, refused ones first (they are what needs a look)."""
    recent = select(ChannelDelivery.id).where(column == owner_id).order_by(ChannelDelivery.id.desc()) \
        .limit(DELIVERIES_SHOWN).subquery()
    return list(db.session.scalars(select(ChannelDelivery).where(ChannelDelivery.id.in_(select(recent.c.id)))
                                   .order_by(case((ChannelDelivery.status == "rejected", 0), else_=1),
                                             ChannelDelivery.id.desc())))


def _rejected_counts(column) -> dict[int, int]:
    from sqlalchemy import func
    return dict(db.session.execute(select(column, func.count()).where(
        column.is_not(None), ChannelDelivery.status == "rejected").group_by(column)).all())


@admin.get("/")
def index():
    webhooks = list(db.session.scalars(select(WebhookChannel).order_by(WebhookChannel.active.desc(),
                                                                       WebhookChannel.name)))
    accounts = list(db.session.scalars(select(WeChatAccount).order_by(WeChatAccount.active.desc(),
                                                                      WeChatAccount.name)))
    return render_template("portal/channels/index.html", webhooks=webhooks, accounts=accounts,
                           webhook_rejected=_rejected_counts(ChannelDelivery.webhook_id),
                           wechat_rejected=_rejected_counts(ChannelDelivery.wechat_id),
                           wechat_modes=dict(WECHAT_MODES))


def _department(form) -> Department | None:
    return db.session.get(Department, form.department.data) if form.department.data else None


def _webhook_page(channel: WebhookChannel | None, form, rows: list[dict], row_errors=None, general=(),
                  status: int = 200):
    shown_rows = rows + [{"field": "", "path": "", "default": ""}] * EMPTY_ROWS
    context = dict(channel=channel, form=form, rows=shown_rows, row_errors=row_errors or {}, general=list(general),
                   field_choices=known_fields(), field_labels=FIELD_LABELS, standard_fields=STANDARD_FIELDS)
    if channel is not None:
        context.update(url=url_for("channels.webhook_receive", public_id=channel.public_id, _external=True),
                       deliveries=_deliveries(ChannelDelivery.webhook_id, channel.id),
                       status_labels=STATUS_LABELS,
                       secret=session.pop(SECRET_KEY, {}).get(str(channel.id)))
    template = "portal/channels/_webhook_form.html" if htmx and request.method == "POST" else \
        "portal/channels/webhook.html"
    return render_template(template, **context), status


def _save_webhook(channel: WebhookChannel | None):
    data = None
    if channel is not None:
        data = dict(name=channel.name, department=channel.department_id, active=channel.active,
                    external_id_path=channel.external_id_path or "", conversation_path=channel.conversation_path or "")
    form = WebhookChannelForm(data=data).fill_choices(channel.department_id if channel else None)
    if request.method != "POST":
        return _webhook_page(channel, form, list(channel.mapping or []) if channel else
                             [{"field": "subject", "path": "", "default": ""},
                              {"field": "body", "path": "", "default": ""}])
    rows = mapping_rows(request.form)
    if not form.validate_on_submit():
        return _webhook_page(channel, form, rows, status=422)
    try:
        saved, secret = save_channel(channel, name=form.name.data, department=_department(form),
                                     active=form.active.data, rows=rows,
                                     external_id_path=form.external_id_path.data or "",
                                     conversation_path=form.conversation_path.data or "")
        db.session.commit()
    except MappingInvalid as exc:
        db.session.rollback()
        for name, message in exc.fields.items():
            getattr(form, name).errors = [*getattr(form, name).errors, message]
        return _webhook_page(channel, form, rows, exc.rows, exc.general, status=422)
    if secret:
        session[SECRET_KEY] = {str(saved.id): secret}
    flash(_("Channel “%(name)s” saved.", name=saved.name), "success")
    return see_other(url_for("channels_admin.webhook", channel_id=saved.id))


@admin.route("/webhook/new", methods=["GET", "POST"])
def webhook_new():
    return _save_webhook(None)


def _webhook_or_404(channel_id: int) -> WebhookChannel:
    channel = db.session.get(WebhookChannel, channel_id)
    if channel is None:
        abort(404)
    return channel


@admin.route("/webhook/<int:channel_id>", methods=["GET", "POST"])
def webhook(channel_id: int):
    return _save_webhook(_webhook_or_404(channel_id))


@admin.post("/webhook/<int:channel_id>/secret")
def webhook_rotate(channel_id: int):
    channel = _webhook_or_404(channel_id)
    session[SECRET_KEY] = {str(channel.id): rotate_secret(channel)}
    db.session.commit()
    flash(_("A new secret is in force; the old one no longer works. Give the new one to the sender."), "success")
    return redirect(url_for("channels_admin.webhook", channel_id=channel.id))


@admin.post("/webhook/<int:channel_id>/sample")
def webhook_sample(channel_id: int):
    """"Test with a sample payload": what the mapping makes of it — the one on the form when the
    page sends it along (edits not saved yet), else the saved one. Nothing is written."""
    channel = _webhook_or_404(channel_id)
    tested, unsaved, mapping_problems = channel, False, []
    if "map_field" in request.form:
        form = WebhookChannelForm(formdata=request.form).fill_choices(channel.department_id)
        try:
            tested = draft_channel(channel, department=_department(form) or channel.department,
                                   rows=mapping_rows(request.form),
                                   external_id_path=request.form.get("external_id_path", ""),
                                   conversation_path=request.form.get("conversation_path", ""))
            unsaved = (tested.mapping, tested.external_id_path, tested.conversation_path, tested.department_id) != (
                channel.mapping, channel.external_id_path, channel.conversation_path, channel.department_id)
        except MappingInvalid as exc:
            mapping_problems = [*exc.general, *exc.fields.values(),
                                *(message for row in exc.rows.values() for message in row.values())]
    result = webhook_intake.preview(tested, request.form.get("sample", "")) if not mapping_problems else None
    db.session.rollback()
    return render_template("portal/channels/_sample_result.html", result=result, channel=tested,
                           field_labels=FIELD_LABELS, unsaved=unsaved, mapping_problems=mapping_problems)


def _wechat_page(account: WeChatAccount | None, form, status: int = 200):
    context = dict(account=account, form=form)
    if account is not None:
        context.update(url=url_for("channels.wechat_receive", public_id=account.public_id, _external=True),
                       deliveries=_deliveries(ChannelDelivery.wechat_id, account.id), status_labels=STATUS_LABELS)
    return render_template("portal/channels/wechat.html", **context), status


def _save_wechat(account: WeChatAccount | None):
    data = None
    if account is not None:
        data = dict(name=account.name, department=account.department_id, active=account.active,
                    app_id=account.app_id, token=account.token, mode=account.mode,
                    reply_zh=account.reply_zh, reply_en=account.reply_en)
    else:
        data = dict(active=True, mode="plaintext", reply_zh=_DEFAULT_REPLY_ZH, reply_en=_DEFAULT_REPLY_EN)
    form = WeChatAccountForm(data=data).fill_choices(account.department_id if account else None)
    form.has_saved_key = bool(account is not None and account.encoding_aes_key)
    if request.method != "POST":
        return _wechat_page(account, form)
    if not form.validate_on_submit():
        return _wechat_page(account, form, 422)
    department = _department(form)
    if department is None or not department.active:
        form.department.errors = [*form.department.errors, _("Choose an active department.")]
        return _wechat_page(account, form, 422)
    if account is None:
        account = WeChatAccount(public_id=new_public_id(), created_at=utcnow())
        db.session.add(account)
    account.name, account.active = form.name.data.strip(), form.active.data
    account.app_id, account.token = form.app_id.data.strip(), form.token.data.strip()
    account.department, account.mode = department, form.mode.data
    if form.encoding_aes_key.data:  # empty: keep the saved key (it is never shown again)
        wechat_intake.set_encoding_aes_key(account, form.encoding_aes_key.data)
    account.reply_zh, account.reply_en = (form.reply_zh.data or "").strip(), (form.reply_en.data or "").strip()
    db.session.commit()
    flash(_("WeChat account “%(name)s” saved.", name=account.name), "success")
    return redirect(url_for("channels_admin.wechat", account_id=account.id))


_DEFAULT_REPLY_ZH = "您的消息已收到，工单号 #{ticket}。我们会尽快回复。"
_DEFAULT_REPLY_EN = "We received your message: ticket #{ticket}. We will reply soon."


@admin.route("/wechat/new", methods=["GET", "POST"])
def wechat_new():
    return _save_wechat(None)


@admin.route("/wechat/<int:account_id>", methods=["GET", "POST"])
def wechat(account_id: int):
    account = db.session.get(WeChatAccount, account_id)
    if account is None:
        abort(404)
    return _save_wechat(account)


def init_app(app: Flask) -> None:
    csrf.exempt(public)
    app.register_blueprint(public)
    app.register_blueprint(admin)
    register_admin_tab(app, "channels_admin.index", _l("Channels"), prefix="channels_admin.", order=65,
                       visible=lambda user: bool(getattr(user, "is_admin", False)))
