"""Sign-in for the floor and the supervisors (Flask-Login), and role checks."""

from __future__ import annotations

from datetime import timedelta
from functools import wraps
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import (
    UserMixin,
    current_user,
    login_required,
    login_url,
    login_user,
    logout_user,
)
from flask_wtf import FlaskForm
from sqlalchemy import bindparam, delete, inspect, select, text
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from .extensions import db, login_manager
from .i18n import N_, _, ngettext, said
from .models import ROLES, Device, SignInFailure, User, UserSession, Warehouse, utcnow
from .services import access, devices
from .services.uow import UnitOfWork

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = N_("Sign in to continue.")

SIGNED_OUT = "You are signed out. Sign in again: scans waiting on this handheld are kept and sent then."


@login_manager.unauthorized_handler
def _signed_out():
    """No session: a page goes to the sign-in screen; a scan or a fragment is told so.

    A scan queue that followed a redirect would take the sign-in page for the
    scan's answer and drop the scan; a 401 keeps it queued until the operator
    signs in again.
    """
    from .errors import error_response, wants_json

    if request.headers.get("HX-Request") == "true" or wants_json():
        return error_response(401, SIGNED_OUT, "signed_out")
    flash(_(login_manager.login_message), login_manager.login_message_category)
    return redirect(login_url(login_manager.login_view, next_url=request.url))


class SignedIn(UserMixin):
    """Who sent this request: the few fields pages and checks read, loaded on every request.

    A plain object rather than a User row, because it is read on every scan;
    it is read afresh each time, so a deactivated account stops at its next request.
    """

    __slots__ = ("active", "device_name", "device_retired", "id", "language", "role", "session_token", "username")

    def __init__(self, id: int, username: str, role: str, active: bool, session_token: str = "",
                 device_name: str | None = None, device_retired: bool = False, language: str | None = None):
        self.id, self.username, self.role, self.active = id, username, role, active
        self.session_token = session_token
        self.device_name, self.device_retired = device_name, device_retired  # the named handheld it is on
        self.language = language

    def get_id(self) -> str:
        return f"{self.id}.{self.session_token}"

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    def has_role(self, role: str) -> bool:
        return ROLES.index(self.role) >= ROLES.index(role)


_SIGNED_IN = (select(User.id, User.username, User.role, User.active, User.language, UserSession.created_at,
                     Device.name.label("device_name"), Device.retired_at)
              .join(UserSession, UserSession.user_id == User.id)
              .outerjoin(Device, Device.id == UserSession.device_id)
              .where(User.id == bindparam("uid"), UserSession.id == bindparam("sid")))


@login_manager.user_loader
def load_user(user_id: str):
    """The user a session or remember cookie names, if that sign-in has not ended: a cookie from
    before a sign-out, a password change or "sign out everywhere" names a sign-in that is gone."""
    uid, _sep, secret = user_id.partition(".")
    if not uid.isdigit() or len(uid) > 10 or not 0 < len(secret) <= 64:
        return None
    row = db.session.execute(_SIGNED_IN, {"uid": int(uid), "sid": access.session_key(secret)}).first()
    if row is None or row.created_at < utcnow() - current_app.config["REMEMBER_COOKIE_DURATION"]:
        return None  # no such sign-in, or one older than a kept sign-in may last
    return SignedIn(row.id, row.username, row.role, row.active, secret, row.device_name, row.retired_at is not None,
                    row.language)


class LoginForm(FlaskForm):
    username = StringField("User", validators=[DataRequired(), Length(max=64)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


def _safe_next(target: str | None) -> str:
    # Only paths on this site: a crafted link must not bounce the user elsewhere.
    if target and urlsplit(target).netloc == "" and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("floor.home")


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("floor.home"))
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        name = form.username.data.strip()[:64]
        ip = _client_ip()
        wait = _take_attempt(name, ip)
        if wait:
            minutes = max(1, round(wait / 60))
            response = make_response(render_template(
                "auth/login.html", form=form,
                error=f"Too many wrong passwords. Try again in {minutes} minute{'s' if minutes > 1 else ''}, "
                      "or ask a supervisor to reset your password."), 429)
            response.headers["Retry-After"] = str(max(1, int(wait)))
            return response
        user = db.session.execute(select(User).where(User.username == name)).scalar_one_or_none()
        if user is not None and user.active and user.check_password(form.password.data):
            _forget_failures(name, ip)
            return _signed_in(user)
        error = "Wrong user name or password."
    elif request.method == "POST":
        error = "Enter your user name and password."
    return _login_page(form, error)


def _login_page(form=None, error=None, badge: str = "", status: int | None = None):
    device = _this_device()
    return render_template("auth/login.html", form=form or LoginForm(formdata=None), error=error, badge=badge,
                           device=device, pin_required=current_app.config["BADGE_PIN_REQUIRED"],
                           retired=_retired_message(device.name) if device is not None and device.retired_at else None
                           ), status or (401 if error else 200)


def _this_device() -> Device | None:
    return devices.by_secret(db.session, request.cookies.get(devices.COOKIE))


def _retired_message(name: str) -> str:
    return _("This handheld, %(name)s, is retired: nothing is booked from it. Hand it to a supervisor.", name=name)


def _signed_in(user: User):
    """Sign `user` in on this handheld (bound to it, if it is a named one) and go on."""
    device = _this_device()
    if device is not None and device.retired_at is not None:
        return _login_page(error=_retired_message(device.name), status=403)
    secret = access.start_session(user.id, _client_ip(), request.user_agent.string,
                                  device_id=device.id if device is not None else None)
    login_user(SignedIn(user.id, user.username, user.role, user.active, secret,
                        device.name if device is not None else None), remember=True)
    session.pop("warehouse_id", None)
    return redirect(_safe_next(request.args.get("next")))


@bp.route("/login/badge", methods=["POST"])
def badge_login():
    """A scan on the sign-in screen: an operator's badge (then the PIN, if the site asks for one),
    or a handheld's registration code from the office screen."""
    from flask_wtf.csrf import validate_csrf
    from wtforms.validators import ValidationError

    from scanners import ScanError, parse

    from .services.scans import rules_for

    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError:
        return _login_page(error=_("This sign-in screen is out of date. Scan your badge again."), status=400)
    text = (request.form.get("badge") or "").strip()[:200]
    pin = (request.form.get("pin") or "").strip()[:20]
    if not text:
        return _login_page(error=_("Scan your badge."), status=400)
    if devices.is_registration_code(text):
        return _register_this_handheld(text)
    if current_user.is_authenticated:
        return redirect(url_for("floor.home"))
    try:
        scan = parse(text, rules_for(db.session.execute(select(Warehouse).order_by(Warehouse.id)).scalars().first()))
    except ScanError as e:
        return _login_page(error=said(e), status=400)
    if scan.kind != "badge":
        return _login_page(error=_("%(code)s is not a badge. Scan the badge on your card, or sign in with your user "
                                   "name below.", code=scan.raw[:60]), status=400)
    need_pin = current_app.config["BADGE_PIN_REQUIRED"]
    if need_pin and not pin:
        return _login_page(badge=text)  # the PIN field comes next, with the badge kept
    key = "badge:" + scan.code
    wait = _take_attempt(key, _client_ip())
    if wait:
        minutes = max(1, round(wait / 60))
        response = make_response(_login_page(error=ngettext(
            "Too many wrong PINs. Try again in %(num)s minute, or ask a supervisor.",
            "Too many wrong PINs. Try again in %(num)s minutes, or ask a supervisor.", minutes), status=429))
        response.headers["Retry-After"] = str(max(1, int(wait)))
        return response
    user = db.session.execute(select(User).where(User.badge == scan.code)).scalar_one_or_none()
    if user is not None and user.active and (not need_pin or (user.pin_hash and user.check_pin(pin))):
        _forget_failures(key, _client_ip())
        return _signed_in(user)
    return _login_page(error=_("Unknown badge or wrong PIN.") if need_pin else _("Unknown badge."))


def _register_this_handheld(code: str):
    try:
        key = access.session_key(current_user.session_token) if current_user.is_authenticated else None
        name, secret = devices.claim(code, key)
    except devices.DeviceError as e:
        return _login_page(error=said(e), status=400)
    flash(_("This handheld is now %(name)s. Its scans are booked under that name.", name=name))
    response = redirect(url_for("floor.home") if current_user.is_authenticated else url_for("auth.login"))
    response.set_cookie(devices.COOKIE, secret, max_age=devices.COOKIE_DAYS * 86400, httponly=True,
                        samesite="Lax", secure=bool(current_app.config.get("HTTPS")))
    return response


@bp.route("/switch-user", methods=["POST"])
@login_required
def switch_user():
    """Hand the handheld to the next person: this sign-in ends (only this one), the handheld keeps its
    name and its scan queue; scans waiting go out when the person who made them signs in again."""
    db.session.rollback()
    access.end_session(access.session_key(current_user.session_token))
    session.clear()
    logout_user()
    flash(_("Handed over. Scans still waiting on this handheld are kept for whoever scanned them."))
    return redirect(url_for("auth.login"))


# Guessing passwords -----------------------------------------------------------------------------
# Failures are rows in the database, so every server process counts the same ones. Each password
# check is booked as a failure *before* it is made, in a transaction that counts and books under a
# lock, so that forty guesses sent at once check no more passwords than the limit; a right password
# then removes its row again.
#
# Counted per user name *and* address: a stranger at another address cannot lock a user out of
# their own handheld. Across addresses a user name gets a slower backoff (one try per
# SIGN_IN_BACKOFF_SECONDS after many failures), and one address trying many names is slowed too.


def _client_ip() -> str:
    return (request.remote_addr or "?")[:45]


def _take_attempt(username: str, ip: str) -> float:
    """0 when this password may be checked (the check is booked as a failure), else seconds to wait."""
    conf = current_app.config
    window = timedelta(seconds=conf["SIGN_IN_WINDOW_SECONDS"])
    db.session.rollback()  # the count and the booking get a transaction of their own
    with UnitOfWork() as uow:
        s = uow.session
        if uow.dialect == "postgresql":  # SQLite: BEGIN IMMEDIATE already holds the write lock
            for key in ("u:" + username, "a:" + ip):
                s.execute(text("SELECT pg_advisory_xact_lock(17, hashtext(:k))"), {"k": key})
        now = utcnow()
        since = now - window
        waits = []
        for where, limit in (((SignInFailure.username == username, SignInFailure.ip == ip),
                              conf["SIGN_IN_MAX_FAILURES_PER_USER"]),
                             ((SignInFailure.ip == ip,), conf["SIGN_IN_MAX_FAILURES_PER_IP"])):
            times = s.execute(select(SignInFailure.at).where(*where, SignInFailure.at > since)
                              .order_by(SignInFailure.at.desc()).limit(limit)).scalars().all()
            if len(times) >= limit:
                # Free again when the oldest of the last `limit` failures leaves the window.
                waits.append((times[-1] + window - now).total_seconds())
        times = s.execute(select(SignInFailure.at).where(SignInFailure.username == username, SignInFailure.at > since)
                          .order_by(SignInFailure.at.desc()).limit(conf["SIGN_IN_MAX_FAILURES_ANY_ADDRESS"])
                          ).scalars().all()
        if len(times) >= conf["SIGN_IN_MAX_FAILURES_ANY_ADDRESS"]:
            waits.append((times[0] + timedelta(seconds=conf["SIGN_IN_BACKOFF_SECONDS"]) - now).total_seconds())
        wait = max([w for w in waits if w > 0], default=0)
        if wait:
            return wait
        s.add(SignInFailure(username=username, ip=ip, at=now))
        # Old failures are of no more use; dropping them here keeps the table small.
        s.execute(delete(SignInFailure).where(SignInFailure.at < now - timedelta(days=1)))
        uow.commit()
    return 0


def _forget_failures(username: str, ip: str) -> None:
    """A right password: this address's failures for the name go (including the booked attempt)."""
    db.session.rollback()
    with UnitOfWork() as uow:
        uow.session.execute(delete(SignInFailure).where(SignInFailure.username == username, SignInFailure.ip == ip))
        uow.commit()


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    # In this order: logout_user() marks the remember-me cookie for deletion in the session,
    # and clearing the session after it would keep that cookie, and the operator signed in.
    session.clear()
    db.session.rollback()
    access.end_sessions(current_user.id)  # every copy of this user's cookies, on every handheld, is void now
    logout_user()
    flash(_("Signed out."))
    return redirect(url_for("auth.login"))


THEME_COOKIE = "wh_theme"
THEMES = ("dark", "light")


@bp.route("/theme", methods=["POST"])
@login_required
def theme():
    """Light or dark screens on this handheld (a yard in daylight, a dim aisle): kept in a cookie of the
    handheld's, so it holds for whoever signs in on it next."""
    choice = request.form.get("theme", "")
    if choice not in THEMES:
        from .errors import error_response

        return error_response(400, "Choose light or dark.", "theme")
    target = _safe_next(request.form.get("next") or request.referrer and urlsplit(request.referrer).path)
    response = redirect(target)
    response.set_cookie(THEME_COOKIE, choice, max_age=devices.COOKIE_DAYS * 86400, httponly=True, samesite="Lax",
                        secure=bool(current_app.config.get("HTTPS")))
    return response


@bp.route("/language", methods=["POST"])
@login_required
def language():
    """The language of this user's screens and messages, on every handheld they sign in on."""
    from .i18n import LANGUAGES

    choice = request.form.get("language", "")
    if choice not in LANGUAGES:
        from .errors import error_response

        return error_response(400, "Choose English, 中文 or Español.", "language")
    db.session.rollback()
    with UnitOfWork() as uow:
        user = uow.session.get(User, current_user.id)
        user.language = choice
        uow.commit()
    return redirect(_safe_next(request.form.get("next")))


@bp.app_context_processor
def _theme():
    from flask import has_request_context

    chosen = request.cookies.get(THEME_COOKIE) if has_request_context() else None
    return {"theme": chosen if chosen in THEMES else "dark"}


# The handheld and the person -------------------------------------------------------------------

_ALWAYS = {"auth.logout", "auth.switch_user", "auth.login", "auth.badge_login", "static"}


@bp.before_app_request
def _this_handheld_and_this_person():
    """Nothing is booked from a retired handheld; a scan is booked only under the person who made it.

    Each scan queued on a handheld carries who was signed in when it was scanned (`scanned_by`);
    sent while someone else is signed in (the handheld changed hands with scans waiting), it is
    refused here and stays queued for its scanner, never booked under the next person."""
    if request.method != "POST" or request.endpoint in _ALWAYS or request.blueprint == "api":
        return None
    if not current_user.is_authenticated:
        return None
    from .errors import error_response

    if current_user.device_retired:
        return error_response(403, _retired_message(current_user.device_name), "device_retired")
    scanned_by = request.form.get("scanned_by")
    if scanned_by and scanned_by != str(current_user.id):
        response = error_response(409, "Scanned by someone else on this handheld: kept for them, sent when they "
                                       "sign in here again.", "other_user")
        response = make_response(response)
        response.headers["X-Floor-Error"] = "other-user"
        return response
    return None


def device_label() -> str:
    """What the ledger and the scan log call this handheld: its registered name, else its browser."""
    if current_user.is_authenticated and current_user.device_name:
        return current_user.device_name
    return "browser " + request.headers.get("User-Agent", "")[:72]


def role_required(role: str):
    def wrap(view):
        @wraps(view)
        @login_required
        def inner(*args, **kwargs):
            if not current_user.has_role(role):
                abort(403)
            return view(*args, **kwargs)

        return inner

    return wrap


def current_warehouse() -> Warehouse | None:
    """The warehouse this handheld works in: chosen in the header, else the first.

    Kept for the request: a row nobody holds on to leaves the session's
    identity map, and each call would read it again.
    """
    wh = g.get("warehouse")
    if wh is not None and inspect(wh).session is db.session():
        return wh
    g.warehouse = wh = _current_warehouse()
    return wh


def _current_warehouse() -> Warehouse | None:
    wid = session.get("warehouse_id")
    wh = db.session.get(Warehouse, wid) if isinstance(wid, int) else None
    if wh is None:
        wh = db.session.execute(select(Warehouse).order_by(Warehouse.id)).scalars().first()
        if wh is not None:
            session["warehouse_id"] = wh.id
    return wh
