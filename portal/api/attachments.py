"""/api/v1/attachments: upload a file, then name it in a thread; read an attachment's metadata and content.

An upload is not yet an Attachment row (a row belongs to a ticket): the file is written under
`api-uploads/` and the answer is a signed `upload` id carrying its storage key, name, type, size,
checksum and uploader. A thread posted within API_UPLOAD_MAX_AGE by the same agent turns it into an
Attachment of that thread; an upload used once can't be used again. Files never claimed are removed
by `flask --app wsgi sweep-uploads` (run it daily, e.g. from cron).

Reading follows the agent's attachment route: an attachment is served only to a token whose agent
may see its ticket, and unknown and forbidden answer the same 404.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from flask import current_app, jsonify, request, send_file
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from ..extensions import db
from ..models import Attachment, User
from ..services.attachments import check_uploads, storage_root, store_bytes
from ..services.errors import ValidationFailed
from ..services.scoping import get_ticket_or_404
from .auth import current_agent, requires
from .inputs import invalid, no_other_parameters
from .problems import ApiProblem
from .serialize import attachment_json, iso
from .views import bp

UPLOAD_FOLDER = "api-uploads"
MAX_PER_THREAD = 20


def _signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt="deskwright-api-upload")


@bp.post("/attachments")
@requires("tickets:write")
def upload_attachment():
    no_other_parameters()
    if not request.mimetype == "multipart/form-data":
        raise ApiProblem(415, "Unsupported Media Type", "Send the file as multipart/form-data, in the part `file`.")
    # A part without a usable name comes through as None: it is unknown too, under "" (sortable).
    unknown = sorted({name or "" for name in (*request.form, *request.files)} - {"file"})
    if unknown:  # a misnamed part is refused, not silently dropped
        raise invalid({name: "Unknown part; send the file in the part `file`." for name in unknown})
    files = request.files.getlist("file")
    if len(files) != 1 or not files[0].filename:
        raise invalid({"file": "Send exactly one file, with a file name, in the part `file`."})
    try:
        [(_upload, data, name, ctype)] = check_uploads(files)
    except ValidationFailed as exc:
        raise invalid({"file": str(exc.errors["attachments"])}) from None
    row = store_bytes(name, data, ctype, folder=UPLOAD_FOLDER)  # not added to the session: no ticket yet
    payload = {"k": row.storage_key, "n": row.filename, "t": row.content_type, "s": row.size, "h": row.sha256,
               "u": current_agent().id}
    expires = datetime.fromtimestamp(int(time.time()) + current_app.config["API_UPLOAD_MAX_AGE"], timezone.utc)
    response = jsonify(upload=_signer().dumps(payload), filename=row.filename, content_type=row.content_type,
                       size=row.size, sha256=row.sha256, expires_at=iso(expires))
    response.status_code = 201
    return response


def claim_uploads(value: Any, agent: User, errors: dict) -> list[Attachment]:
    """The uploads a thread names, as unsaved Attachment rows for the ticket service; problems go to `errors`."""
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        errors["attachments"] = "Give a list of upload ids (from POST /attachments)."
        return []
    if len(value) > MAX_PER_THREAD:
        errors["attachments"] = f"At most {MAX_PER_THREAD} attachments per message."
        return []
    rows, keys = [], set()
    for index, upload in enumerate(value):
        key = f"attachments.{index}"
        try:
            data = _signer().loads(upload, max_age=current_app.config["API_UPLOAD_MAX_AGE"])
        except SignatureExpired:
            errors[key] = "This upload has expired; upload the file again."
            continue
        except BadSignature:
            errors[key] = "Not an upload id from POST /attachments."
            continue
        if data.get("u") != agent.id:
            errors[key] = "This upload was made with another agent's token."
        elif data["k"] in keys or db.session.scalar(select(Attachment.id).where(Attachment.storage_key == data["k"])):
            errors[key] = "This upload is already attached to a message; upload the file again."
        elif not (storage_root() / data["k"]).is_file():
            errors[key] = "This upload has expired; upload the file again."
        else:
            keys.add(data["k"])
            rows.append(Attachment(storage_key=data["k"], filename=data["n"], content_type=data["t"], size=data["s"],
                                   sha256=data["h"]))
    return rows


def _visible_attachment(attachment_id: int) -> Attachment:
    row = db.session.get(Attachment, attachment_id) if 0 < attachment_id < 2**31 else None
    if row is None:
        raise ApiProblem(404, "Not Found", "No such attachment, or not on a ticket in the agent's departments.")
    get_ticket_or_404(current_agent(), row.ticket_id)
    return row


@bp.get("/attachments/<int:attachment_id>")
@requires("tickets:read")
def get_attachment(attachment_id: int):
    no_other_parameters()
    return jsonify(attachment_json(_visible_attachment(attachment_id)))


@bp.get("/attachments/<int:attachment_id>/content")
@requires("tickets:read")
def attachment_content(attachment_id: int):
    """Always as a download (never rendered by a browser that happens to follow the link)."""
    no_other_parameters()
    row = _visible_attachment(attachment_id)
    response = send_file(storage_root() / row.storage_key, mimetype=row.content_type, as_attachment=True,
                         download_name=row.filename, max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response


def sweep_unclaimed_uploads(older_than: timedelta | None = None) -> int:
    """Delete uploaded files no thread claimed before they expired; the count removed."""
    older_than = older_than or timedelta(seconds=current_app.config["API_UPLOAD_MAX_AGE"] + 3600)
    folder = storage_root() / UPLOAD_FOLDER
    if not folder.is_dir():
        return 0
    cutoff = time.time() - older_than.total_seconds()
    stale: dict[str, Path] = {}
    for path in folder.glob("*/*"):
        if path.is_file() and path.stat().st_mtime < cutoff:
            stale[path.relative_to(storage_root()).as_posix()] = path
    removed = 0
    keys = list(stale)
    for start in range(0, len(keys), 500):
        chunk = keys[start:start + 500]
        used = set(db.session.scalars(select(Attachment.storage_key).where(Attachment.storage_key.in_(chunk))))
        for key in chunk:
            if key not in used:
                stale[key].unlink(missing_ok=True)
                removed += 1
    return removed
