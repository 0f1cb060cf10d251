"""Errors become a clear page, fragment or JSON error, never a bare 500."""

from __future__ import annotations

from flask import jsonify, make_response, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from .extensions import db

MESSAGES = {
    400: "The request could not be understood.",
    401: "Sign in first.",
    403: "Your role cannot do that. Ask a supervisor.",
    404: "There is no such page.",
    405: "That action is not allowed here.",
    413: "The upload is too large.",
    429: "Too many attempts. Wait a moment and try again.",
    500: "Something went wrong on the server. Nothing was changed; try again.",
}


def wants_json() -> bool:
    # The camera's fetch asks for JSON; so does the API.
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(status: int, message: str, code: str | None = None):
    if wants_json():
        return jsonify({"error": {"code": code or f"http_{status}", "message": message}}), status
    template = "partials/flash.html" if request.headers.get("HX-Request") else "error.html"
    return render_template(template, status=status, message=message, level="error"), status


NUL_MESSAGE = "The request holds a NUL character, which no label, form or file of this app contains."


def refuse_nul():
    """No field may hold a NUL character: SQLite stores it, PostgreSQL refuses it mid-transaction.
    Refused once here, before any route reads the field, the same on both databases."""
    values = [*request.args.values(), *request.form.values()]
    if any("\x00" in v for v in values):
        return error_response(400, NUL_MESSAGE, "nul_character")
    if request.is_json and request.content_length and request.content_length <= 16 * 1024 * 1024:
        raw = request.get_data(cache=True)
        if b"\x00" in raw or b"\\u0000" in raw:
            return error_response(400, NUL_MESSAGE, "nul_character")
    return None


def register_errors(app) -> None:
    app.before_request(refuse_nul)

    @app.errorhandler(CSRFError)
    def csrf_error(e):
        response, status = error_response(400, "The form expired. Reload the page and try again.", "csrf")
        response = make_response(response, status)
        # The handheld's scan queue keeps a scan refused for this and asks for a reload.
        response.headers["X-Floor-Error"] = "csrf"
        return response

    @app.errorhandler(HTTPException)
    def http_error(e):
        return error_response(e.code, MESSAGES.get(e.code, e.description), f"http_{e.code}")

    @app.errorhandler(Exception)
    def unexpected(e):
        # Whatever broke, the transaction it was in is rolled back: a failed
        # scan changes nothing.
        db.session.rollback()
        app.logger.exception("unhandled error on %s", request.path)
        return error_response(500, MESSAGES[500], "server_error")
