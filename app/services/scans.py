"""Scans as they reach the server: each recorded once under the handheld's scan id."""

from __future__ import annotations

import re
import uuid

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from scanners import Rules

from ..models import ScanLog, Warehouse
from .uow import UnitOfWork

SCAN_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")

# Settings a site can change on the scanner set-up screen, with their defaults.
SETTING_DEFAULTS = {
    "prefix": "",  # characters the scanner puts before every code, stripped on arrival
    "suffix": "",  # ... and after it (besides Enter or Tab, which always end a scan)
    "gs_substitute": "",  # what the scanner sends for the GS1 group separator, if not ASCII 29
    "pause_ms": 80,  # a gap this long after fast keys ends a scan that sent no Enter
    "bin_pattern": "",
    "plate_pattern": "",
    "order_pattern": "",
    "po_pattern": "",
    "badge_pattern": "",
}


def settings_for(warehouse: Warehouse | None) -> dict:
    merged = dict(SETTING_DEFAULTS)
    if warehouse is not None and warehouse.scan_settings:
        merged.update({k: v for k, v in warehouse.scan_settings.items() if k in SETTING_DEFAULTS})
    return merged


def rules_for(warehouse: Warehouse | None) -> Rules:
    try:
        return Rules.from_settings(settings_for(warehouse))
    except ValueError:
        # A pattern saved before validation existed must not stop the floor.
        return Rules()


def strip_affixes(text: str, settings: dict) -> str:
    """What the browser does for a keyboard wedge, again for scans from forms without JavaScript."""
    prefix, suffix, gs = settings.get("prefix") or "", settings.get("suffix") or "", settings.get("gs_substitute") or ""
    if prefix and text.startswith(prefix):
        text = text[len(prefix) :]
    if suffix and text.endswith(suffix):
        text = text[: -len(suffix)]
    if gs:
        text = text.replace(gs, "\x1d")
    return text


def scan_id_from(value: str | None) -> str:
    """The handheld's id for a scan, or a new one for a form sent without JavaScript."""
    if value and SCAN_ID.fullmatch(value):
        return value
    return uuid.uuid4().hex


def find(session, scan_id: str) -> ScanLog | None:
    return session.execute(select(ScanLog).where(ScanLog.scan_id == scan_id)).scalar_one_or_none()


def record(session, **fields) -> tuple[ScanLog, bool]:
    """Store a scan once. Returns (the row, whether it is new); a resent scan returns the first row.

    The row is written in a transaction of its own that asks for the write
    lock first. Writing in `session` after it has read would, on SQLite,
    turn a read snapshot into a write, which fails with "database is locked"
    as soon as another handheld has committed in between.
    """
    fields["text"] = fields["text"][:200]
    fields["message"] = (fields.get("message") or "")[:300]
    session.rollback()  # end the read snapshot; the caller reads again after the write
    try:
        with UnitOfWork() as uow:
            prior = find(uow.session, fields["scan_id"])
            if prior is not None:
                return prior, False
            row = ScanLog(**fields)
            uow.session.add(row)
            uow.commit()
    except IntegrityError:
        # The same scan sent twice at once (PostgreSQL): the other request stored it first.
        return find(session, fields["scan_id"]), False
    return row, True


def recent(session, user_id: int, screen: str, limit: int = 8) -> list[ScanLog]:
    return (
        session.execute(
            select(ScanLog)
            .where(ScanLog.user_id == user_id, ScanLog.screen == screen)
            .order_by(ScanLog.id.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )
