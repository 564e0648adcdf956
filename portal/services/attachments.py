"""Uploaded files: size- and type-checked, stored outside static/, named by a random key."""
from __future__ import annotations

import hashlib
import mimetypes
import secrets
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from ..models import Attachment
from .errors import ValidationFailed


def human_size(n: int) -> str:
    """10 MB, 20 KB: whole units, as people say them."""
    return f"{n // (1024 * 1024)} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"


def storage_root() -> Path:
    root = current_app.config.get("ATTACHMENT_DIR") or Path(current_app.instance_path) / "attachments"
    return Path(root)


def _content_type(filename: str, declared: str | None) -> str:
    """Trust the file name's extension over what the browser declared (browsers guess too)."""
    guessed, _ = mimetypes.guess_type(filename)
    return guessed or (declared or "application/octet-stream").split(";")[0].strip().lower()


def check_uploads(files: list[FileStorage]) -> list[tuple[FileStorage, bytes, str, str]]:
    """Validate every file before anything is saved; raise one error naming each bad file."""
    limit = current_app.config["MAX_ATTACHMENT_BYTES"]
    allowed = set(current_app.config["ALLOWED_ATTACHMENT_TYPES"])
    ok, problems = [], []
    for upload in files:
        if upload is None or not upload.filename:
            continue
        name = secure_filename(upload.filename) or "file"
        # secure_filename drops non-ASCII (Chinese names): keep the original for display.
        display = Path(upload.filename).name[:255] or name
        data = upload.read(limit + 1)
        ctype = _content_type(name if "." in name else display, upload.mimetype)
        if len(data) > limit:
            problems.append(_l("%(name)s is larger than %(size)s.", name=display, size=human_size(limit)))
        elif not data:
            problems.append(_l("%(name)s is empty.", name=display))
        elif ctype not in allowed:
            problems.append(_l("%(name)s: files of type %(type)s are not accepted.", name=display, type=ctype))
        else:
            ok.append((upload, data, display, ctype))
    if problems:
        raise ValidationFailed({"attachments": " ".join(str(p) for p in problems)})
    return ok


def store_uploads(files: list[FileStorage]) -> list[Attachment]:
    """Check, then write the files and return unsaved Attachment rows for the ticket service."""
    return [store_bytes(display, data, ctype) for _upload, data, display, ctype in check_uploads(files)]


def store_bytes(filename: str, data: bytes, content_type: str, content_id: str | None = None,
                folder: str = "") -> Attachment:
    """Write one file under a random key (in `folder`, if given); an unsaved Attachment row for the ticket service."""
    key = f"{folder + '/' if folder else ''}{secrets.token_hex(2)}/{secrets.token_hex(16)}"
    path = storage_root() / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return Attachment(filename=filename[:255], content_type=content_type[:120], size=len(data),
                      sha256=hashlib.sha256(data).hexdigest(), storage_key=key,
                      content_id=content_id[:255] if content_id else None)


def mail_attachment_problem(filename: str, data: bytes, content_type: str) -> str | None:
    """Why a mailed file can't be kept as an attachment (it stays in the raw message), or None."""
    limit = current_app.config["MAX_ATTACHMENT_BYTES"]
    ctype = _content_type(filename, content_type)
    if len(data) > limit:
        return str(_l("%(name)s is larger than %(size)s.", name=filename, size=human_size(limit)))
    if ctype not in set(current_app.config["ALLOWED_ATTACHMENT_TYPES"]):
        return str(_l("%(name)s: files of type %(type)s are not accepted.", name=filename, type=ctype))
    return None


def attachment_path(attachment: Attachment) -> Path:
    return storage_root() / attachment.storage_key
