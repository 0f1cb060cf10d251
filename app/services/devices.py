"""Named handhelds: registered once by a supervisor, known by name in the ledger and the scan log,
retired when lost or broken (its scans are refused from then on).

A supervisor names a handheld on the office screen and gets a registration code (DEVICE-…,
shown as text and a barcode, good for REGISTRATION_MINUTES). Scanning it on the handheld's
sign-in screen gives the handheld a secret of its own, kept in a long-lived cookie that goes
with every request; the sign-ins made on it are bound to it (user_sessions.device_id).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from ..domain.stock import InputError
from ..i18n import N_
from ..models import Device, User, UserSession, utcnow
from .uow import UnitOfWork

COOKIE = "wh_device"
COOKIE_DAYS = 5 * 365
REGISTRATION_MINUTES = 15
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}")
CODE = re.compile(r"DEVICE-([A-Z2-7]{10})")
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"


class DeviceError(InputError):
    code = "device"


def _hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def is_registration_code(text: str) -> bool:
    return bool(CODE.fullmatch((text or "").strip().upper()))


def register(name: str, by_user_id: int) -> tuple[str, str]:
    """A registration code for the handheld to be called `name` (a new one for a name not yet
    claimed): (the name, the code). A name in use on a handheld must be retired first."""
    name = (name or "").strip()
    if not NAME.fullmatch(name):
        raise DeviceError.of(N_("A handheld's name has 1 to 40 letters, digits, spaces, dots, dashes or "
                                "underscores (e.g. TC52-07)."))
    code = "DEVICE-" + "".join(secrets.choice(_ALPHABET) for _ in range(10))
    with UnitOfWork() as uow:
        s = uow.session
        device = s.execute(select(Device).where(Device.name == name)).scalar_one_or_none()
        if device is not None and device.claimed_at is not None and device.retired_at is None:
            raise DeviceError.of(N_("%(name)s is already a registered handheld. Retire it first, or choose another name."),
                                 name=name)
        if device is None:
            device = Device(name=name, registered_by=by_user_id)
            s.add(device)
        device.secret_hash = None
        device.claimed_at = device.retired_at = None
        device.code_hash = _hash(code)
        device.code_expires_at = utcnow() + timedelta(minutes=REGISTRATION_MINUTES)
        uow.commit()
    return name, code


def claim(code: str, session_secret_key: str | None = None) -> tuple[str, str]:
    """The handheld that scanned `code` becomes the device it names: (its name, its secret for the
    cookie). A sign-in already open on it (its session key) is bound to it too."""
    m = CODE.fullmatch((code or "").strip().upper())
    if m is None:
        raise DeviceError.of(N_("That is not a registration code."))
    secret = secrets.token_urlsafe(24)
    with UnitOfWork() as uow:
        s = uow.session
        device = s.execute(select(Device).where(Device.code_hash == _hash(m.group(0)))).scalar_one_or_none()
        if device is None or device.code_expires_at is None or device.code_expires_at < utcnow():
            raise DeviceError.of(N_("That registration code is unknown or has expired. Ask a supervisor for a new one."))
        device.code_hash = device.code_expires_at = None
        device.secret_hash = _hash(secret)
        device.claimed_at = device.last_seen_at = utcnow()
        if session_secret_key:
            row = s.get(UserSession, session_secret_key)
            if row is not None:
                row.device_id = device.id
        uow.commit()
        return device.name, secret


def by_secret(session, secret: str | None) -> Device | None:
    if not secret or len(secret) > 64:
        return None
    return session.execute(select(Device).where(Device.secret_hash == _hash(secret))).scalar_one_or_none()


def retire(device_id: int, by_user_id: int) -> str:
    """From now on, the handheld's scans are refused and nobody signs in on it. Its name."""
    with UnitOfWork() as uow:
        device = uow.session.get(Device, device_id, with_for_update=True)
        if device is None:
            raise DeviceError.of(N_("No such handheld."))
        if device.retired_at is None:
            device.retired_at = utcnow()
            device.code_hash = device.code_expires_at = None
        uow.commit()
        return device.name


@dataclass
class DeviceRow:
    id: int
    name: str
    status: str
    registered_by: str
    created_at: datetime
    last_seen_at: datetime | None


def listing(session) -> list[DeviceRow]:
    rows = session.execute(select(Device, User.username).join(User, User.id == Device.registered_by)
                           .order_by(Device.retired_at.is_not(None), Device.name)).all()
    now = utcnow()
    out = []
    for d, who in rows:
        if d.retired_at is not None:
            status = "retired"
        elif d.claimed_at is not None:
            status = "registered"
        elif d.code_expires_at is not None and d.code_expires_at >= now:
            status = "waiting for its code"
        else:
            status = "code expired"
        out.append(DeviceRow(d.id, d.name, status, who, d.created_at, d.last_seen_at))
    return out

