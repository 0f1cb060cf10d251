"""Playwright in Debian's Chromium on a handheld viewport, against a live server."""

import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


LAUNCH_ARGS = [
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Chromium looks up names on its own; nothing but this machine is reachable.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": LAUNCH_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # A Zebra TC5x-sized handheld: 360x640, touch.
    return {
        **browser_context_args,
        "viewport": {"width": 360, "height": 640},
        "device_scale_factor": 2,
        "is_mobile": True,
        "has_touch": True,
    }


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory):
    """The demo site (with its half year of history), loaded once for the whole run, here and not in a
    test module, so that every module importing the `app` beside it shares it; every test gets its
    own copy of the file."""
    from app import create_app
    from app.extensions import db
    from app.services import demo

    path = tmp_path_factory.mktemp("demo") / "demo.db"
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
    with app.app_context():
        db.create_all()
        demo.load_demo(passwords={name: name for name, _ in demo.DEMO_USERS})
        db.session.remove()
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        db.engine.dispose()
    return path


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(autouse=True)
def scanner_pause_for_a_loaded_test_machine(monkeypatch):
    """The test browser types a scanner's burst a key at a time over the DevTools protocol; on a
    loaded 2-core CI machine one key can lag 100 ms or more behind the one before, where a real
    scanner's keys come 5 ms apart. The site's pause that ends an Enter-less scan is set to 300 ms
    here (the set-up screen allows 20 to 1000), so a lag is not a pause that splits the burst. The
    wedge's own rules are the same as on the floor: only the pause is longer."""
    from app.services import scans

    monkeypatch.setitem(scans.SETTING_DEFAULTS, "pause_ms", 300)


@pytest.fixture
def shot():
    ARTIFACTS.mkdir(exist_ok=True)

    def save(page, name, full_page=True):
        if not full_page:
            page.evaluate("window.scrollTo(0, 0)")
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)

    return save


@pytest.fixture(autouse=True)
def no_policy_violations(request):
    """Every browser test also shows the pages break none of their Content-Security-Policy."""
    if "page" not in request.fixturenames:
        yield
        return
    page = request.getfixturevalue("page")
    seen = []
    page.on("console", lambda msg: seen.append(msg.text) if "Content Security Policy" in msg.text else None)
    yield
    assert not seen, seen
