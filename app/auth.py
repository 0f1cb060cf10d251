"""Sign-in for the floor and the supervisors (Flask-Login), and role checks."""

from __future__ import annotations

from functools import wraps
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_login import current_user, login_required, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from .extensions import db, login_manager
from .models import User, Warehouse

bp = Blueprint("auth", __name__)

login_manager.login_view = "auth.login"
login_manager.login_message = "Sign in to continue."


@login_manager.user_loader
def load_user(user_id: str):
    if not user_id.isdigit():
        return None
    return db.session.get(User, int(user_id))


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
        user = db.session.execute(select(User).where(User.username == form.username.data.strip())).scalar_one_or_none()
        if user is not None and user.active and user.check_password(form.password.data):
            login_user(user, remember=True)
            session.pop("warehouse_id", None)
            return redirect(_safe_next(request.args.get("next")))
        error = "Wrong user name or password."
    elif request.method == "POST":
        error = "Enter your user name and password."
    status = 401 if error else 200
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    logout_user()
    session.clear()
    flash("Signed out.")
    return redirect(url_for("auth.login"))


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
    """The warehouse this handheld works in: chosen in the header, else the first."""
    wid = session.get("warehouse_id")
    wh = db.session.get(Warehouse, wid) if isinstance(wid, int) else None
    if wh is None:
        wh = db.session.execute(select(Warehouse).order_by(Warehouse.id)).scalars().first()
        if wh is not None:
            session["warehouse_id"] = wh.id
    return wh
