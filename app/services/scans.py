"""Scans as they reach the server: each recorded once under the handheld's scan id."""

from __future__ import annotations

import hashlib
import re
import uuid

from sqlalchemy import select

from scanners import Rules

from ..models import ScanLog, Warehouse, utcnow
from . import sql
from .uow import UnitOfWork

SCAN_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")

# Settings a site can change on the scanner set-up screen, with their defaults.
SETTING_DEFAULTS = {
    "prefix": "",  # characters the scanner puts before every code, stripped on arrival
    "suffix": "",  # ... and after it (besides Enter or Tab, which always end a scan)
    "gs_substitute": "",  # what the scanner sends for the GS1 group separator, if not ASCII 29
    "pause_ms": 80,  # a gap this long after fast keys ends a scan that sent no Enter
    "max_scan_qty": 1000,  # more units than this in one scan books only after a deliberate confirm
    "max_scan_len": 200,  # a scan longer than this is one scan, refused once with its length
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


def scanned_code(form, settings: dict, limit: int = 20_000) -> str:
    """The code a scan form sent, with the scanner's affixes taken off exactly once.

    The page's scan queue takes them off as the wedge types (and a camera read has none),
    and says so with `clean=1`; a form sent without JavaScript sends what the scanner typed.
    Taking them off again would eat the code's own first characters: with prefix `A`, a
    scanner sending `AAB-01` is bin `AB-01`, not `B-01`.
    """
    code = (form.get("code") or "")[:limit]
    if not code or form.get("clean") == "1":
        return code
    return strip_affixes(code, settings)


def strip_affixes(text: str, settings: dict) -> str:
    """What the browser does for a keyboard wedge, for scans from forms without JavaScript."""
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


def scoped_id(scan_id: str, user_id: int | None, screen: str, task_id: int | None = None) -> str:
    """The id a scan is kept under when its handheld's id was already used by another user or screen.

    A handheld's ids are random, so this happens only by a bug or on purpose: the scan is then
    neither answered with someone else's answer nor lost. The id is the same every time for the
    same user and screen, so a resend of it is still recognised.
    """
    digest = hashlib.sha256(f"{scan_id}|{user_id}|{screen}|{task_id}".encode()).hexdigest()
    return "x" + digest[:40]


def own(session, scan_id: str, user_id: int | None, screen: str, task_id: int | None = None):
    """(the id to keep this scan under, its earlier log row if this user sent it here before, or None)."""
    for candidate in (scan_id, scoped_id(scan_id, user_id, screen, task_id)):
        prior = find(session, candidate)
        if prior is None:
            return candidate, None
        if prior.user_id == user_id and prior.screen == screen and prior.task_id == task_id:
            return candidate, prior
    return scoped_id(scan_id, user_id, screen, task_id), None  # not reached: the scoped id is this user's


_LOG_COLUMNS = ("scan_id", "user_id", "warehouse_id", "screen", "text", "kind", "outcome", "message", "device",
                "received_at", "task_id")


def find(session, scan_id: str):
    """The logged scan with this id (a row with the log's columns), or None."""
    return sql.one(session, f"SELECT id, {', '.join(_LOG_COLUMNS)} FROM scan_log WHERE scan_id = ?", (scan_id,))


def log(session, on_conflict: str = "", **values):
    """Insert one scan log row in the session's transaction; returns its id (None if it was there: `on_conflict`)."""
    return sql.value(
        session,
        f"INSERT INTO scan_log ({', '.join(_LOG_COLUMNS)}) VALUES ({', '.join('?' * len(_LOG_COLUMNS))}) "
        + (f"ON CONFLICT (scan_id) {on_conflict} " if on_conflict else "") + "RETURNING id",
        tuple(sql.stamp(session, values.get(c)) if c == "received_at" else values.get(c) for c in _LOG_COLUMNS),
    )


def record(session, **fields) -> tuple[ScanLog, bool]:
    """Store a scan once. Returns (the row, whether it is new); a resent scan returns the first row.

    The row is written in a transaction of its own that asks for the write
    lock first: writing in `session` after it has read would, on SQLite,
    turn a read snapshot into a write, which fails with "database is locked"
    as soon as another handheld has committed in between. `session` keeps
    its snapshot and what it loaded; a list drawn from it afterwards misses
    this row, so the caller adds it (see `recent`).
    """
    values = {"task_id": None, "warehouse_id": None, **fields, "received_at": utcnow()}
    values["text"] = values["text"][:200]
    values["message"] = (values.get("message") or "")[:300]
    values["device"] = (values.get("device") or "")[:80]
    with UnitOfWork() as uow:
        row_id = log(uow.session, on_conflict="DO NOTHING", **values)
        if row_id is None:  # sent before (or at the same moment by a resend): the first answer stands
            prior = dict(find(uow.session, values["scan_id"])._mapping)
            prior["received_at"] = sql.as_datetime(prior["received_at"])
            return ScanLog(**prior), False
        uow.commit()
    return ScanLog(id=row_id, **{c: values[c] for c in _LOG_COLUMNS}), True


def recent(session, user_id: int, screen: str, limit: int = 8, just_logged: ScanLog | None = None) -> list[ScanLog]:
    """The user's last scans on a screen, newest first; `just_logged` is a row written after `session` began."""
    rows = (
        session.execute(
            select(ScanLog)
            .where(ScanLog.user_id == user_id, ScanLog.screen == screen)
            .order_by(ScanLog.id.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )
    if just_logged is not None and all(r.id != just_logged.id for r in rows):
        rows = [just_logged, *rows][:limit]
    return rows
