"""Reading an uploaded JSON export (rules, fields and layouts): size, presence and encoding, with the
message a person sees for each. What the file holds is each importer's business."""
from __future__ import annotations

from typing import Optional

from flask_babel import gettext as _

IMPORT_MAX_BYTES = 2 * 1024 * 1024


def read_import_file(upload) -> tuple[Optional[str], list[str]]:
    """(the file's text, []) or (None, [why it can't be read])."""
    raw = upload.read(IMPORT_MAX_BYTES + 1) if upload else b""
    if not raw:
        return None, [_("Choose a JSON file exported from Deskwright.")]
    if len(raw) > IMPORT_MAX_BYTES:
        return None, [_("The file is larger than 2 MB.")]
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        return None, [_("The file is not UTF-8 text.")]
