"""An uploaded CSV file as text, within its budget: one answer for every import screen."""

from __future__ import annotations

from flask import request

from .domain.stock import InputError
from .i18n import N_

MAX_UPLOAD = 2 * 1024 * 1024


def csv_text(field: str = "file", any_text: bool = False) -> str:
    """The text of the file sent in `field`, or InputError saying what is wrong with it. With `any_text`
    (a channel's own export, which may be Windows-1252), text that is not UTF-8 is read as that."""
    upload = request.files.get(field)
    if upload is None or not upload.filename:
        raise InputError.of(N_("Choose a CSV file to import"))
    data = upload.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise InputError.of(N_("The file is larger than 2 MB; split it"))
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        if any_text:
            return data.decode("cp1252", errors="replace")
        raise InputError.of(N_("The file is not UTF-8 text; save it as CSV UTF-8")) from None
