"""Headers every response carries: the content security policy and its companions."""

from __future__ import annotations

# Every script is a file under static/: an injected <script> or onclick= cannot run.
# Styles likewise, except where a response sets its own policy (the label sheet).
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def security_headers(response, https: bool = False):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    # The camera is the only device feature the pages use, and only from this site.
    headers.setdefault("Permissions-Policy", "camera=(self), microphone=(), geolocation=()")
    if https:
        # Served over HTTPS (HTTPS=1): the browser keeps to HTTPS for this host from now on.
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response
