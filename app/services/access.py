"""Who may come in: API tokens (a scope, a life, a rate) and ending a user's sessions.

One home for these rules, used by the API's token check, the CLI and the admin's Access screen.
A token is shown once, when it is made; only its SHA-256 is stored, so a leaked database
does not leak working tokens.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import case, delete, func, select, update

from ..domain import inputs
from ..domain import stock as d
from ..i18n import N_, _, said
from ..models import ApiToken, User, UserSession, utcnow
from .uow import UnitOfWork

DEFAULT_DAYS = 90
MAX_DAYS = 730
TOKEN_PREFIX = "wh_"  # makes a token easy to find in a log or a leaked file (secret scanners look for prefixes)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class TokenRefused(Exception):
    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.retry_after = status, code, message, retry_after


@dataclass(frozen=True)
class Caller:
    """What a request's token may do: its user's role, narrowed to a channel when it has one."""

    token_id: int
    user_id: int
    role: str
    channel: str | None


def issue(username: str, name: str = "", channel: str | None = None, days: int = DEFAULT_DAYS) -> tuple[str, dict]:
    """A new token for a user (the token itself, shown once, and its row as a dict)."""
    channel = (channel or "").strip() or None
    if channel is not None and len(channel) > 40:
        raise d.InputError.of(N_("A channel name has at most 40 characters"))
    if not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise d.InputError.of(N_("A token lives 1 to %(max)s days"), max=MAX_DAYS)
    with UnitOfWork() as uow:
        user = uow.session.execute(select(User).where(User.username == (username or "").strip())).scalar_one_or_none()
        if user is None:
            raise d.InputError.of(N_("No user %(name)r; create one with flask create-user"), name=username)
        if not user.active:
            raise d.InputError.of(N_("%(name)s is deactivated"), name=user.username)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row = ApiToken(user_id=user.id, token_hash=hash_token(token), name=(name or "")[:64], channel=channel,
                       expires_at=utcnow() + timedelta(days=days))
        uow.session.add(row)
        uow.session.flush()
        out = token_dict(row, user)
        uow.commit()
    return token, out


def token_dict(row: ApiToken, user: User | None = None) -> dict:
    user = user or row.user
    return {
        "id": row.id, "user": user.username, "role": user.role, "name": row.name, "channel": row.channel,
        "created_at": row.created_at, "expires_at": row.expires_at, "last_used_at": row.last_used_at,
        "revoked_at": row.revoked_at, "status": status(row),
    }


def status(row: ApiToken, now: datetime | None = None) -> str:
    if row.revoked:
        return "revoked"
    if row.expires_at <= (now or utcnow()):
        return "expired"
    return "active"


def tokens(session) -> list[dict]:
    """Every token, newest first (for the admin list and `flask list-tokens`)."""
    rows = session.execute(select(ApiToken, User).join(User).order_by(ApiToken.id.desc())).all()
    return [token_dict(t, u) for t, u in rows]


TOKEN_COLUMNS = ("id", "user", "role", "channel", "name", "status", "created_at", "expires_at", "last_used_at")


def tokens_csv(session):
    """The tokens an admin reviews (who, for which channel, until when, last used): never a secret, which
    is shown once when made and kept only as its hash. No import: a token is made by the server."""
    yield list(TOKEN_COLUMNS)
    for t in tokens(session):
        yield [inputs.safe_cell("" if t[k] is None else t[k].isoformat(sep=" ", timespec="seconds")
                                if isinstance(t[k], datetime) else t[k]) for k in TOKEN_COLUMNS]


def revoke(token_id) -> dict:
    if not isinstance(token_id, int):
        token_id = d.parse_id(token_id, "token")
    with UnitOfWork() as uow:
        row = uow.session.get(ApiToken, token_id, with_for_update=True)
        if row is None:
            raise d.InputError.of(N_("No token %(id)s"), id=token_id)
        if not row.revoked:
            row.revoked, row.revoked_at = True, utcnow()
        out = token_dict(row)
        uow.commit()
    return out


def authenticate(header: str, per_minute: int) -> Caller:
    """The caller an `Authorization: Bearer …` header names, counted against its rate; else TokenRefused.

    The count lives on the token's row and goes up in one UPDATE … RETURNING, so every server
    process counts the same requests, and two at once cannot both take the last one.
    """
    scheme, _, token = (header or "").partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise TokenRefused(401, "unauthorized", "Send 'Authorization: Bearer <token>'; make one with flask create-token")
    if len(token) > 200:
        raise TokenRefused(401, "unauthorized", "Unknown or revoked token")
    now = utcnow()
    minute = int(time.time() // 60)
    with UnitOfWork() as uow:
        s = uow.session
        found = s.execute(
            select(ApiToken.id, ApiToken.revoked, ApiToken.expires_at, ApiToken.channel, User.id, User.role,
                   User.active).join(User).where(ApiToken.token_hash == hash_token(token))
        ).first()
        if found is None or found[1]:
            raise TokenRefused(401, "unauthorized", "Unknown or revoked token")
        token_id, _, expires_at, channel, user_id, role, active = found
        if expires_at <= now:
            raise TokenRefused(401, "token_expired",
                               f"This token expired on {expires_at:%Y-%m-%d}; ask an admin for a new one")
        if not active:
            raise TokenRefused(401, "unauthorized", "The token's user is deactivated")
        hits = s.execute(
            update(ApiToken).where(ApiToken.id == token_id).values(
                window_hits=case((ApiToken.window_start == minute, ApiToken.window_hits + 1), else_=1),
                window_start=minute, last_used_at=now,
            ).returning(ApiToken.window_hits)
        ).scalar_one()
        uow.commit()
    if hits > per_minute:
        raise TokenRefused(429, "rate_limited", f"More than {per_minute} requests in a minute with this token; "
                                                "wait and send again", retry_after=max(1, 60 - int(time.time()) % 60))
    return Caller(token_id, user_id, role, channel)


# --------------------------------------------------------------------------
# Users' sessions
# --------------------------------------------------------------------------


def session_key(secret: str) -> str:
    """The row id of a sign-in whose cookies carry `secret`."""
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(user_id: int, ip: str, device: str, device_id: int | None = None) -> str:
    """A new sign-in of the user: its secret, for the cookies (a new one at every sign-in); on a
    named handheld (`device_id`), bound to it."""
    secret = secrets.token_urlsafe(24)
    with UnitOfWork() as uow:
        uow.session.add(UserSession(id=session_key(secret), user_id=user_id, ip=(ip or "")[:45],
                                    device=(device or "")[:120], device_id=device_id))
        # Sign-ins older than a kept sign-in may last are of no more use.
        uow.session.execute(delete(UserSession).where(UserSession.created_at < utcnow() - timedelta(days=30)))
        uow.commit()
    return secret


def end_session(key: str) -> None:
    """End one sign-in (a handheld handed over): the user's other sign-ins go on."""
    with UnitOfWork() as uow:
        uow.session.execute(delete(UserSession).where(UserSession.id == key))
        uow.commit()


def end_sessions(user_id: int) -> str | None:
    """End every session and remember cookie of a user, at once, on every server process
    (a new session token: the old one in their cookies names nobody). The user's name, or None."""
    with UnitOfWork() as uow:
        user = uow.session.get(User, user_id, with_for_update=True)
        if user is None:
            return None
        user.end_sessions()
        uow.commit()
        return user.username


def set_active(user_id: int, active: bool, by_user_id: int) -> str:
    """Deactivate (ending every session and token use at once) or reactivate a user."""
    if user_id == by_user_id and not active:
        raise d.InputError.of(N_("You cannot deactivate yourself; ask another admin"))
    with UnitOfWork() as uow:
        user = uow.session.get(User, user_id, with_for_update=True)
        if user is None:
            raise d.InputError.of(N_("No user %(id)s"), id=user_id)
        user.active = bool(active)
        if not active:
            user.end_sessions()
        uow.commit()
        return user.username


USERNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
BADGE = re.compile(r"[A-Za-z0-9._-]{1,40}")
PIN = re.compile(r"[0-9]{4,8}")


def _user_fields(username: str, role: str, password: str | None, badge: str | None,
                 pin: str | None) -> tuple[str, str, str | None, str | None, str | None]:
    """A user's fields checked alone (no database): the same for create-user, the Access screen and a file."""
    from ..models import ROLES

    username = (username or "").strip()
    if not USERNAME.fullmatch(username):
        raise d.InputError.of(N_("A user name has 1 to 64 letters, digits, dots, dashes, underscores or @"))
    if role not in ROLES:
        raise d.InputError.of(N_("A role is one of %(roles)s"), roles=", ".join(ROLES))
    if password is not None and password != "" and (len(password) < 4 or len(password) > 200):
        raise d.InputError.of(N_("A password has at least 4 characters (and at most 200)"))
    badge = (badge or "").strip() or None
    if badge is not None and not BADGE.fullmatch(badge):
        raise d.InputError.of(N_("A badge code has 1 to 40 letters, digits, dots, dashes or underscores"))
    pin = (pin or "").strip() or None
    if pin is not None and not PIN.fullmatch(pin):
        raise d.InputError.of(N_("A PIN has 4 to 8 digits"))
    return username, role, password or None, badge, pin


def _apply_user(s, username, role, password, badge, pin, by_user_id, active: bool | None = None) -> bool:
    """Checks what needs the database, then writes: nothing is changed when it raises. created?"""
    user = s.execute(select(User).where(User.username == username).with_for_update()).scalar_one_or_none()
    created = user is None
    if created and not password:
        raise d.InputError.of(N_("A new user needs a password"))
    if not created and user.id == by_user_id and role != user.role:
        raise d.InputError.of(N_("You cannot change your own role; ask another admin"))
    if not created and user.id == by_user_id and active is False:
        raise d.InputError.of(N_("You cannot deactivate yourself; ask another admin"))
    if badge is not None:
        other = s.execute(select(User.username).where(User.badge == badge, User.username != username)).scalar()
        if other is not None:
            raise d.InputError.of(N_("Badge %(badge)s belongs to %(other)s"), badge=badge, other=other)
    if created:
        user = User(username=username)
        s.add(user)
    user.role = role
    if password:
        user.set_password(password)
    if badge is not None:
        user.badge = badge
    if pin is not None:
        user.set_pin(pin)
    if active is not None and bool(user.active if user.active is not None else True) != active:
        user.active = active
        if not active and not created:
            user.end_sessions()
    return created


def save_user(username: str, role: str, password: str | None = None, badge: str | None = None,
              pin: str | None = None, by_user_id: int | None = None) -> tuple[str, bool]:
    """Create a user (a password is then required) or change one: role, password, badge, PIN. The
    same checks for the command line (create-user), the admin's Access screen and a users file.
    (name, created)."""
    fields = _user_fields(username, role, password, badge, pin)
    with UnitOfWork() as uow:
        created = _apply_user(uow.session, *fields, by_user_id)
        uow.commit()
        return fields[0], created


USER_COLUMNS = ("username", "role", "badge", "active")  # what is exported; a file may add password and pin


def import_users_text(text: str, dry_run: bool = False, by_user_id: int | None = None):
    """Users from a CSV text, checked whole: a bad row (named by its row number) and nothing changes.
    A new user's row needs a password; an existing user's password, badge and PIN are kept where empty.
    With dry_run, what it would do (report.changes), and nothing changes."""
    from .catalog import MAX_ERRORS, ImportReport, file_records

    report = ImportReport()
    with UnitOfWork() as uow:
        s = uow.session
        seen: dict[str, int] = {}
        badges: dict[str, int] = {}
        for n, row in file_records(text, {"username", "role"}):
            report.rows += 1
            if len(report.errors) >= MAX_ERRORS:
                continue
            active_text = (row.get("active") or "").strip().lower()
            try:
                if active_text not in ("", "yes", "no", "true", "false", "1", "0"):
                    raise d.InputError.of(N_("active is yes or no, not %(value)r"), value=active_text[:20])
                fields = _user_fields(row.get("username", ""), (row.get("role") or "").strip(),
                                      row.get("password") or None, row.get("badge"), row.get("pin"))
                name, badge = fields[0], fields[3]
                if name.lower() in seen:
                    raise d.InputError.of(N_("user %(name)s is also on row %(row)s"), name=name, row=seen[name.lower()])
                seen[name.lower()] = n
                if badge is not None and badge in badges:
                    raise d.InputError.of(N_("badge %(badge)s is also on row %(row)s"), badge=badge, row=badges[badge])
                if badge is not None:
                    badges[badge] = n
                before = s.execute(select(User).where(User.username == name)).scalar_one_or_none()
                old = (before.role, before.badge, before.active) if before is not None else None
                active = None if not active_text else active_text in ("yes", "true", "1")
                with s.begin_nested():
                    created = _apply_user(s, *fields, by_user_id, active)
            except d.InputError as e:
                report.errors.append(_("row %(n)s: %(why)s", n=n, why=said(e)))
                continue
            if created:
                report.created += 1
                report.change(f"new user {name} ({fields[1]})")
            else:
                report.updated += 1
                what = [f"role {old[0]} → {fields[1]}"] if old[0] != fields[1] else []
                if badge is not None and badge != old[1]:
                    what.append(f"badge {old[1] or '—'} → {badge}")
                if fields[2]:
                    what.append("new password")
                if fields[4]:
                    what.append("new PIN")
                if active is not None and active != bool(old[2]):
                    what.append("reactivated" if active else "deactivated, signed out everywhere")
                if what:
                    report.change(f"{name}: {'; '.join(what)}")
        if report.ok and not dry_run:
            uow.commit()
    return report


def users_csv(session):
    yield list(USER_COLUMNS)
    for u in session.execute(select(User).order_by(User.username)).scalars():
        yield [inputs.safe_cell(v) for v in (u.username, u.role, u.badge or "", "yes" if u.active else "no")]


def users(session) -> list[dict]:
    """Every user, with how many sign-ins are open and the newest one's device."""
    open_ = (select(UserSession.user_id, func.count().label("n"), func.max(UserSession.created_at).label("last"))
             .group_by(UserSession.user_id).subquery())
    rows = session.execute(select(User, open_.c.n, open_.c.last).outerjoin(open_, open_.c.user_id == User.id)
                           .order_by(User.username)).all()
    return [{"id": u.id, "username": u.username, "role": u.role, "active": u.active, "created_at": u.created_at,
             "badge": u.badge, "pin": bool(u.pin_hash), "sessions": n or 0, "last_sign_in": last}
            for u, n, last in rows]
