"""flask --app app <command>: set-up, demo data, users, tokens, imports, check-ledger."""

from __future__ import annotations

import os
import sys

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from sqlalchemy import func, inspect, select

from .domain import stock as d
from .domain.stock import DomainError
from .extensions import db
from .models import ROLES, Movement, User
from .services import access, catalog, demo
from .services.ledger import check_ledger
from .services.uow import UnitOfWork


def register_cli(app) -> None:
    for command in (init_db, demo_cmd, create_user, sign_out_everywhere, create_token, list_tokens, revoke_token, import_cmd, check_ledger_cmd, ensure_demo,
                    release_locks_cmd, expire_lots_cmd, plan_cmd):
        app.cli.add_command(command)


def _migrate() -> None:
    # Alembic logs through the root logger; keep set-up output short.
    upgrade(directory=current_app.extensions["migrate"].directory)


@click.command("init-db")
@with_appcontext
def init_db():
    """Create or upgrade the database schema (runs the migrations)."""
    _migrate()
    click.echo(f"database ready: {db.engine.url.render_as_string(hide_password=True)}")


HISTORY_OPTION = click.option(
    "--history-days", type=click.IntRange(0, 365), default=demo.HISTORY_DAYS, show_default=True,
    envvar="WH_DEMO_DAYS", help="days of trade the demo site is given (orders shipped, stock bought again); 0 for a "
                                "quicker demo with no past")


@click.command("demo")
@with_appcontext
@HISTORY_OPTION
def demo_cmd(history_days):
    """Load the demo site (2 warehouses, 300 items, half a year of trade, stock, orders, a purchase order)."""
    _migrate()
    with click.progressbar(length=demo.DEMO_STEPS, label="Loading demo site") as bar:
        result = demo.load_demo(progress=bar.update, history_days=history_days)
    if not result["loaded"]:
        click.echo("The database already holds warehouses; demo data not loaded.")
        return
    click.echo(f"demo loaded: {result['items']} items")
    _show_accounts(result["passwords"])


def _show_accounts(passwords: dict[str, str]) -> None:
    """Print the demo site's new accounts once, and keep them in instance/ (readable by this user only)."""
    if not passwords:
        return
    path = demo.keep_accounts(current_app.instance_path, passwords)
    roles = dict(demo.DEMO_USERS)
    click.echo("")
    click.echo("  Demo accounts of this site (passwords made at random, shown once; kept in "
               f"{os.path.relpath(path)}):")
    for name, password in passwords.items():
        click.echo(f"    {name:<8} {password:<16} {roles[name]}")
    click.echo("")


@click.command("ensure-demo", hidden=True)
@with_appcontext
@HISTORY_OPTION
def ensure_demo(history_days):
    """Migrate, and load the demo site if the database is empty (used by make run)."""
    _migrate()
    if "warehouses" in inspect(db.engine).get_table_names():
        with UnitOfWork(write=False) as uow:
            if uow.session.execute(select(func.count()).select_from(User)).scalar_one():
                kept = os.path.join(current_app.instance_path, demo.ACCOUNTS_FILE)
                click.echo("database ready" + (f"; demo accounts are in {os.path.relpath(kept)}"
                                               if os.path.exists(kept) else ""))
                return
    with click.progressbar(length=demo.DEMO_STEPS, label="Loading demo site") as bar:
        result = demo.load_demo(progress=bar.update, history_days=history_days)
    _show_accounts(result.get("passwords") or {})


@click.command("create-user")
@with_appcontext
@click.option("--username", "--user", required=True)
@click.option("--role", type=click.Choice(ROLES), default="operator", show_default=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option("--badge", default=None, help="the code on the user's badge (scanned as BADGE-<code>)")
@click.option("--pin", default=None, help="the badge's PIN, 4 to 8 digits")
def create_user(username, role, password, badge, pin):
    """Create a user, or set the password, role, badge and PIN of an existing one."""
    try:
        username, created = access.save_user(username, role, password, badge, pin)
    except DomainError as e:
        raise click.BadParameter(e.message) from None
    click.echo(f"{'created' if created else 'updated'} {role} {username}")


@click.command("sign-out-everywhere")
@with_appcontext
@click.argument("username")
def sign_out_everywhere(username):
    """End every session and remember cookie of USERNAME, on every handheld, at once."""
    user_id = db.session.execute(select(User.id).where(User.username == username)).scalar_one_or_none()
    if user_id is None:
        raise click.ClickException(f"no user {username!r}")
    access.end_sessions(user_id)
    click.echo(f"{username} is signed out everywhere")


@click.command("create-token")
@with_appcontext
@click.option("--user", "username", required=True, help="The user the token acts as")
@click.option("--name", default="", help="What the token is for")
@click.option("--channel", default=None, help="A sales channel: the token places, reads and cancels only its orders")
@click.option("--days", default=access.DEFAULT_DAYS, show_default=True, type=int, help="Days until it expires")
def create_token(username, name, channel, days):
    """Print a new API token for USER (shown once; only its hash is stored)."""
    try:
        token, row = access.issue(username, name, channel, days)
    except d.InputError as e:
        raise click.ClickException(e.message) from None
    click.echo(token)
    click.echo(f"token {row['id']}{' for channel ' + row['channel'] if row['channel'] else ''}, "
               f"expires {row['expires_at']:%Y-%m-%d}", err=True)


@click.command("list-tokens")
@with_appcontext
def list_tokens():
    """Every API token: id, user, channel, status, expiry and last use (never the token)."""
    for t in access.tokens(db.session):
        used = f"{t['last_used_at']:%Y-%m-%d %H:%M}" if t["last_used_at"] else "never used"
        click.echo(f"{t['id']:>5}  {t['user']:<16} {t['channel'] or '-':<16} {t['status']:<8} "
                   f"expires {t['expires_at']:%Y-%m-%d}  {used}  {t['name']}")


@click.command("revoke-token")
@with_appcontext
@click.argument("token_id")
def revoke_token(token_id):
    """Revoke API token TOKEN_ID (see list-tokens): its next request is refused."""
    try:
        row = access.revoke(token_id)
    except d.InputError as e:
        raise click.ClickException(e.message) from None
    click.echo(f"token {row['id']} of {row['user']} revoked")


@click.command("import")
@with_appcontext
@click.argument("what", type=click.Choice(["items", "bins", "stock"]))
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Check the file and report; change nothing")
def import_cmd(what, path, dry_run):
    """Import items, bins or opening stock from a CSV file; any bad row changes nothing."""
    func_ = {"items": catalog.import_items, "bins": catalog.import_bins, "stock": catalog.import_stock}[what]
    lines = _count_lines(path)
    try:
        with click.progressbar(length=lines, label=f"Importing {what}", file=sys.stderr) as bar:
            report = func_(path, dry_run=dry_run, progress=bar.update)
    except DomainError as e:
        raise click.ClickException(e.message) from None
    for err in report.errors:
        click.echo(err, err=True)
    if not report.ok:
        raise click.ClickException(f"{len(report.errors)} error(s) in {path}; nothing was changed")
    verb = "would import" if dry_run else "imported"
    click.echo(f"{verb} {report.rows} row(s): {report.created} new, {report.updated} updated")


def _count_lines(path: str) -> int:
    with open(path, "rb") as fh:
        return max(0, sum(1 for _ in fh) - 1)


@click.command("check-ledger")
@with_appcontext
def check_ledger_cmd():
    """Replay the whole ledger from empty and compare with stored balances and bins."""
    with UnitOfWork(write=False) as uow:
        total = uow.session.execute(select(func.count(Movement.id))).scalar_one()
        with click.progressbar(length=total, label="Replaying ledger", file=sys.stderr) as bar:
            problems = check_ledger(uow.session, progress=bar.update)
    if problems:
        for p in problems:
            click.echo(p)
        click.echo(f"{len(problems)} difference(s)")
        sys.exit(1)
    click.echo("ok")


@click.command("expire-lots")
@with_appcontext
def expire_lots_cmd():
    """Move the sellable units of every lot past its expiry date to unsellable (for a daily cron job)."""
    from .services.expiry import expire_everywhere

    click.echo(f"{expire_everywhere()} unit(s) expired")


@click.command("release-locks")
@with_appcontext
def release_locks_cmd():
    """End every promotion lock whose unlock date has come (for a daily cron job)."""
    from .services.locks import release_expired

    click.echo(f"{release_expired()} lock(s) ended")


@click.command("plan")
@click.option("--order", "make_orders", is_flag=True, help="Turn every proposal into purchase orders.")
@with_appcontext
def plan_cmd(make_orders):
    """Purchase proposals of every warehouse: items at or below their reorder point (a daily cron job)."""
    from .models import Warehouse
    from .services import ledger_days, planning

    ledger_days.fill_all()  # the days closed since the last run, summed once (the screens read them too)
    with UnitOfWork(write=False) as uow:
        warehouses = [(w.id, w.code) for w in uow.session.execute(select(Warehouse).order_by(Warehouse.code)).scalars()]
        proposed = {}
        for wid, code in warehouses:
            rows = planning.proposals(uow.session, uow.session.get(Warehouse, wid))
            proposed[wid] = {r.item.id: r.plan.propose for r in rows}
            for r in rows:
                p = r.plan
                click.echo(f"{code}\t{r.item.sku}\t{r.supplier.name if r.supplier else '-'}\tposition {p.position}"
                           f"\treorder point {p.rop:.1f}\tpropose {p.propose}")
    total = sum(len(v) for v in proposed.values())
    click.echo(f"{total} item(s) need ordering")
    if make_orders:
        for wid, chosen in proposed.items():
            for po in planning.order(wid, chosen):
                click.echo(f"{po['number']} {'created' if po['created'] else 'exists'}")
