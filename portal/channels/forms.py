"""Forms of the channel admin screens. The mapping rows are not WTForms fields: they are a table of
repeated inputs (map_field / map_path / map_default), read with `mapping_rows` and checked by the
mapping's own validator, which reports per row."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp

from ..extensions import db
from ..forms import choices
from ..models import Department
from .wechat import protocol

EMPTY_ROWS = 2  # blank rows offered under the mapping for new lines
# The console's message encryption modes (消息加解密方式), in protocol.MODES's order.
WECHAT_MODES = [("plaintext", _l("Plaintext (明文模式)")), ("compatible", _l("Compatible (兼容模式)")),
                ("safe", _l("Safe (安全模式)"))]


def _stripped(value):
    return "".join(value.split()) if isinstance(value, str) else value  # a pasted key may carry spaces


def _departments(current_id: int | None) -> list:
    rows = db.session.scalars(select(Department).where(
        (Department.active.is_(True)) | (Department.id == (current_id or 0))).order_by(Department.name))
    return choices((d.id, d.label) for d in rows)


class WebhookChannelForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    department = SelectField(_l("Department"), coerce=int)
    active = BooleanField(_l("Active: take deliveries"), default=True)
    external_id_path = StringField(_l("External id path"), validators=[Optional(), Length(max=300)])
    conversation_path = StringField(_l("Conversation key path"), validators=[Optional(), Length(max=300)])

    def fill_choices(self, current_id: int | None = None) -> "WebhookChannelForm":
        self.department.choices = _departments(current_id)
        return self


class WeChatAccountForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=120)])
    department = SelectField(_l("Department"), coerce=int)
    active = BooleanField(_l("Active: take messages"), default=True)
    app_id = StringField(_l("AppID"), validators=[
        DataRequired(), Length(max=40),
        Regexp(r"^wx[0-9a-zA-Z]{8,38}$", message=_l("An AppID starts with “wx”, e.g. wx1234567890abcdef."))])
    token = StringField(_l("Token"), validators=[
        DataRequired(),
        Regexp(r"^[A-Za-z0-9]{3,32}$", message=_l("WeChat accepts 3 to 32 letters and digits as the Token."))])
    mode = SelectField(_l("Message encryption"), default="plaintext", choices=choices(WECHAT_MODES))
    encoding_aes_key = StringField(_l("EncodingAESKey"), filters=[_stripped], render_kw={
        "autocomplete": "off", "spellcheck": "false"}, validators=[
        Optional(), Regexp(protocol.ENCODING_AES_KEY.pattern,
                           message=_l("An EncodingAESKey is exactly 43 characters: letters, digits, + and /."))])
    reply_zh = TextAreaField(_l("Reply in Chinese"), validators=[Optional(), Length(max=600)])
    reply_en = TextAreaField(_l("Reply in English"), validators=[Optional(), Length(max=600)])
    has_saved_key = False  # set by the view: an empty key field then keeps the saved one

    def fill_choices(self, current_id: int | None = None) -> "WeChatAccountForm":
        self.department.choices = _departments(current_id)
        return self

    def validate(self, extra_validators=None) -> bool:
        ok = super().validate(extra_validators)
        if self.mode.data != "plaintext" and not self.encoding_aes_key.data and not self.has_saved_key:
            self.encoding_aes_key.errors = [*self.encoding_aes_key.errors, _l(
                "Compatible and safe mode need the EncodingAESKey from the console's server configuration.")]
            ok = False
        return ok


def mapping_rows(formdata) -> list[dict]:
    fields, paths, defaults = (formdata.getlist(n) for n in ("map_field", "map_path", "map_default"))
    count = max(len(fields), len(paths), len(defaults))

    def at(values, i):
        return values[i] if i < len(values) else ""
    return [{"field": at(fields, i), "path": at(paths, i), "default": at(defaults, i)} for i in range(count)]
