"""Languages (Flask-Babel): English, Simplified Chinese and Spanish, per user, else the handheld's
Accept-Language. Catalogues: app/translations/<lang>/LC_MESSAGES/messages.po, compiled by `make`.

`_` here works in and out of a request: services mark their messages with them, and
outside a request (the command line, a worker) a message is the English text."""

from __future__ import annotations

from pathlib import Path

from flask import has_request_context, request
from flask_babel import Babel
from flask_babel import gettext as _gettext
from flask_babel import ngettext as _ngettext

LANGUAGES = {"en": "English", "zh": "中文（简体）", "es": "Español"}
TRANSLATIONS = Path(__file__).with_name("translations")

babel = Babel()


def select_locale() -> str:
    from flask_login import current_user

    chosen = getattr(current_user, "language", None) if has_request_context() else None
    if chosen in LANGUAGES:
        return chosen
    if has_request_context():
        return request.accept_languages.best_match(list(LANGUAGES)) or "en"
    return "en"


def init_app(app) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", "en")
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS))
    babel.init_app(app, locale_selector=select_locale)

    @app.context_processor
    def _languages():
        from flask_babel import get_locale

        lang = str(get_locale() or "en")

        def script_texts() -> dict:
            """What the scripts say (static/js: floorText), in this language; English needs none. Asked
            by base.html only, so a scan's panel fragment does not pay for it."""
            return {} if lang == "en" else {text: _gettext(text) for text in SCRIPT_TEXTS}

        return {"languages": LANGUAGES, "lang": lang, "script_texts": script_texts}

    app.add_template_filter(qty)
    app.add_template_filter(pct)
    app.add_template_filter(money)
    app.add_template_filter(money_e4)


def qty(value) -> str:
    """A quantity as the reader's locale writes it (1,234 · 1.234); "—" for none."""
    from flask_babel import format_decimal

    if value is None or value == "":
        return "—"
    return format_decimal(value) if has_request_context() else str(value)


def pct(share) -> str:
    """A share (0.125) as a percentage with one decimal, in the reader's locale (12.5% · 12,5 %)."""
    from flask_babel import format_percent

    if share is None:
        return "—"
    return format_percent(share, "#,##0.0%") if has_request_context() else f"{share * 100:.1f}%"


def money(amount) -> str:
    """An amount (unit cost, count thresholds) with two decimals in the reader's locale; no currency,
    since the app keeps none."""
    from flask_babel import format_decimal

    if amount is None or amount == "":
        return "—"
    return format_decimal(amount, "#,##0.00") if has_request_context() else f"{amount:.2f}"


def money_e4(e4) -> str:
    """An amount kept in ten-thousandths (domain.valuation), shown as money."""
    from decimal import Decimal

    return "—" if e4 is None else money(Decimal(e4) / 10_000)


def _(text: str, **values) -> str:
    if has_request_context():
        return _gettext(text, **values)
    return text % values if values else text



def ngettext(singular: str, plural: str, num: int, **values) -> str:
    if has_request_context():
        return _ngettext(singular, plural, num, **values)
    return (singular if num == 1 else plural) % {"num": num, **values}


def said(error) -> str:
    """A refusal as the operator reads it: a domain error's message in their language, where the
    rule that raised it gave its template and values (domain.stock.DomainError), else as it is."""
    template = getattr(error, "template", None)
    if template and has_request_context():
        words = ("condition", *getattr(error, "words", ()))  # values that are words of the catalogue

        def shown(key, value):
            if isinstance(value, tuple):  # alternatives: "a bin or an item"
                return _gettext(" or ").join(_gettext(v) for v in value)
            return _gettext(value) if key in words else value

        return _gettext(template, **{k: shown(k, v) for k, v in error.values.items()})
    return getattr(error, "message", None) or str(error)


def N_(text: str) -> str:
    """Marks a text for the catalogue where it is defined; it is translated where it is shown."""
    return text


# Values stored as data and translated where shown ({{ _(task.status) }}): listed here for the catalogue.
SHOWN_VALUES = (
    # task and order statuses
    N_("open"), N_("closed"), N_("cancelled"), N_("reserved"), N_("backordered"), N_("picked"), N_("shipped"),
    N_("partial"), N_("short"),
    # floor exception kinds, as the overview shows them
    N_("unknown item"), N_("short pick"), N_("under receipt"), N_("transfer difference"),
    N_("cancelled staged"), N_("unplaced pick"), N_("no reserve"),
    # stock conditions, as a refusal names them; bin types
    N_("sellable"), N_("returned"),
    # stock age bands and what to do with a slow mover (domain.planning)
    N_("0–30"), N_("31–90"), N_("91–180"), N_("over 180"), N_("transfer"), N_("return to supplier"), N_("clearance"),
    # loss reasons the ledger writes that are no chosen label (services.losses)
    N_("scrapped returned"), N_("scrapped sellable"),
    # serial statuses and what a serial's history names (services.serials)
    N_("in stock"), N_("packed"), N_("scrapped"), N_("receive"), N_("move"), N_("pick"), N_("pack"), N_("ship"),
    N_("storage"), N_("dock"), N_("staging"), N_("quarantine"), N_("returns"),
    # count bins and lines (domain.counting.LINE_STATES), transfers, locks, devices, tokens, jobs
    N_("pending"), N_("counting"), N_("recount"), N_("recounting"), N_("done"),
    N_("Being counted"), N_("Matches"), N_("Within tolerance: adjusted"), N_("Waiting for a recount"),
    N_("Waiting for approval"), N_("Approved: adjusted"), N_("Rejected: record kept"),
    N_("planned"), N_("received"), N_("active"), N_("released"), N_("retired"), N_("expired"), N_("revoked"),
    N_("queued"), N_("running"), N_("failed"), N_("asn"), N_("po"),
    N_("registered"), N_("waiting for its code"), N_("code expired"),
    # roles, barcode kinds, what an import brings in
    N_("operator"), N_("supervisor"), N_("admin"), N_("unit"), N_("case"),
    N_("items"), N_("bins"), N_("warehouses"), N_("users"),
    # the KPI chart's series
    N_(" or "),  # between alternatives a scan may be (scanners.parse.expect)
    # what an id names, in "No such purchase order" (services.resolve.owned)
    N_("bin"), N_("count session"), N_("exception"), N_("import"), N_("lock"), N_("order"), N_("purchase order"),
    N_("transfer"), N_("handheld"), N_("user"), N_("count line"),
    N_("Record accuracy"), N_("SKU type difference rate"), N_("SKU quantity difference rate"),
)


# Every text static/js/app.js and scan.js say through floorText (T): tests/unit/test_translations.py
# fails on one missing here.
SCRIPT_TEXTS = (
    N_("1 scan"), N_("%(n)s scans"), N_("%(scans)s waiting"), N_("OK"), N_("Check this"), N_("Not accepted"),
    N_("Not accepted (%(status)s)"), N_("Seen"), N_("Sign in"), N_("Reload"), N_("Earlier scan sent"),
    N_("Offline — %(scans)s kept, sent when the connection is back"),
    N_("Signed out — %(scans)s kept, sent once you sign in again"),
    N_("This screen is out of date — %(scans)s kept, sent once it is reloaded"),
    N_("%(scans)s by someone else kept on this handheld: sent when they sign in here again"),
    N_("%(scans)s sent late did not go through — check each one"),
    N_("Screen out of date: reload it"), N_("Signed out: sign in again"),
    N_("That scan was %(n)s characters; labels here have at most %(max)s. Nothing sent."),
    N_("Live camera needs HTTPS. Take a photo of the barcode instead."), N_("Point the camera at a barcode"),
    N_("The camera could not start (%(why)s). Take a photo instead."),
    N_("No connection: hold the code steady in the middle, or scan with the trigger."),
    N_("No connection: the camera reads codes on the server. Scan with the trigger, or type the code."),
    N_("No connection"), N_("The server could not read that picture (%(status)s). Try again."),
    N_("No barcode in that photo. Try again, closer."), N_("No barcode found"),
    N_("The photo is blurred: take another to make sure of the code."), N_("Take another photo"),
    N_("Blurred: hold still for a second look."),
)
