"""Keyboard-wedge bursts, focus, the camera and the scanner set-up, in a real Chromium on a handheld."""

import json
import threading
import time

import cv2
import numpy as np
import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.serving import make_server

from app.extensions import db
from app.models import ScanLog
from scanners import labels as L
from tests.builders import ean_for, make_site, make_user, receive
from tests.e2e.conftest import LAUNCH_ARGS
from tests.e2e.test_lookup import sign_in

SLOW_SECONDS = 0.3


@pytest.fixture
def site(app):
    make_site(items=5)
    receive(qty=10)
    make_user("picker", "pick-pw")


@pytest.fixture
def slow_server(app):
    """The live server, answering every scan 300 ms late, as over a weak Wi-Fi."""
    inner = app.wsgi_app

    def slow(environ, start_response):
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"] == "/lookup":
            time.sleep(SLOW_SECONDS)
        return inner(environ, start_response)

    server = make_server("127.0.0.1", 0, slow, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def logged_scans():
    db.session.rollback()  # a fresh snapshot: the server wrote in other connections
    return [r.text for r in db.session.execute(select(ScanLog).order_by(ScanLog.id)).scalars()]


def test_twenty_scans_in_a_burst_against_a_slow_server_all_arrive_in_order_intact(site, slow_server, page, shot):
    sign_in(page, slow_server)
    page.goto(slow_server + "/lookup")
    codes = [ean_for(1 + i % 5) if i % 3 else ["A-01", "A-02", "B-01", "NO-SUCH-BIN"][i % 4] for i in range(20)]
    started = time.perf_counter()
    for code in codes:
        # Scanner speed: about 5 ms a key and Enter, back to back.
        page.keyboard.type(code, delay=5)
        page.keyboard.press("Enter")
    typed_in = time.perf_counter() - started
    expect(page.locator("#scan")).to_have_value("")
    expect(page.locator("html")).to_have_attribute("data-scans-waiting", "0", timeout=20_000)
    assert logged_scans() == codes
    # The operator was never held up: all 20 were read long before the server answered them.
    assert typed_in < 20 * SLOW_SECONDS
    items = page.locator("#scan-list li code")
    expect(items).to_have_count(8)
    expect(items.first).to_have_text(codes[-1])
    shot(page, "scan-burst")


def test_a_scan_with_no_enter_is_ended_by_the_pause(site, live_server, page):
    sign_in(page, live_server)
    page.goto(live_server + "/lookup")
    page.keyboard.type("A-02", delay=5)  # many 2D scanners send no Enter
    expect(page.locator("#lookup-result")).to_contain_text("Bin A-02")
    page.keyboard.type("B-01", delay=5)
    expect(page.locator("#lookup-result")).to_contain_text("Bin B-01")
    assert logged_scans() == ["A-02", "B-01"]


def test_a_short_code_with_no_enter_and_one_late_key_is_still_ended_by_the_pause(site, live_server, page):
    """A 2D scanner sends "A-02" with no Enter and the handheld's browser stalls 50 ms before its third
    key: still the scanner's burst (no person types at 50 ms), sent on the pause."""
    sign_in(page, live_server)
    page.goto(live_server + "/lookup")
    page.keyboard.type("A-", delay=5)
    time.sleep(0.05)
    page.keyboard.type("02", delay=5)
    expect(page.locator("#lookup-result")).to_contain_text("Bin A-02")
    assert logged_scans() == ["A-02"]


def test_a_burst_with_one_slow_key_is_still_one_scan_ended_by_the_pause(site, live_server, page):
    """A busy handheld (or this loaded test machine) can hold one key of a burst back; the burst is
    a scanner's by its keys' average speed, so it still ends on the pause as one scan. A person's
    slow typing never averages scanner speed and still waits for Enter."""
    sign_in(page, live_server)
    page.goto(live_server + "/lookup")
    code = ean_for(1)  # a retail code's 13 keys: this loaded machine's own lags stay far below the average
    page.keyboard.type(code[:7], delay=5)
    time.sleep(0.06)  # one key held back 60 ms: slower than any thumb-free key, shorter than the pause
    page.keyboard.type(code[7:], delay=5)
    expect(page.locator("#lookup-result")).to_contain_text("Test item 1")
    assert logged_scans() == [code]
    page.keyboard.type("B-01", delay=150)  # a person typing
    time.sleep(0.6)  # twice the pause: nothing is sent without Enter
    assert logged_scans() == [code]
    expect(page.locator("#scan")).to_have_value("B-01")
    page.keyboard.press("Enter")
    expect(page.locator("#lookup-result")).to_contain_text("Bin B-01")


def test_focus_comes_back_to_the_scan_field_after_a_stray_tap(site, live_server, page):
    sign_in(page, live_server)
    page.goto(live_server + "/lookup")
    page.tap("p.step")
    page.touchscreen.tap(180, 600)  # an empty spot low on the screen
    expect(page.locator("#scan")).to_be_focused()
    page.keyboard.type("A-01", delay=5)
    page.keyboard.press("Enter")
    expect(page.locator("#lookup-result")).to_contain_text("Bin A-01")
    # The camera dialog opens and closes: focus is back for the next scan.
    page.tap("[data-camera]")
    page.tap("[data-camera-close]")
    expect(page.locator("#scan")).to_be_focused()


def test_the_scan_field_asks_for_no_soft_keyboard_until_the_operator_wants_one(site, live_server, page):
    sign_in(page, live_server)
    page.goto(live_server + "/lookup")
    field = page.locator("#scan")
    expect(field).to_have_attribute("inputmode", "none")
    page.tap("[data-keyboard]")
    expect(field).to_have_attribute("inputmode", "text")
    page.keyboard.type("A-01", delay=60)  # a person, not a scanner: waits for Enter
    page.wait_for_timeout(300)
    assert logged_scans() == []
    page.keyboard.press("Enter")
    expect(page.locator("#lookup-result")).to_contain_text("Bin A-01")
    expect(field).to_have_attribute("inputmode", "none")


def test_scans_made_while_the_server_is_unreachable_are_kept_and_sent_later(site, live_server, page, context):
    sign_in(page, live_server)
    page.goto(live_server + "/lookup")
    context.set_offline(True)
    for code in ["A-01", "A-02"]:
        page.keyboard.type(code, delay=5)
        page.keyboard.press("Enter")
    expect(page.locator("[data-queue-state]")).to_contain_text("Offline — 2 scans kept")
    assert logged_scans() == []
    context.set_offline(False)
    expect(page.locator("html")).to_have_attribute("data-scans-waiting", "0", timeout=20_000)
    assert logged_scans() == ["A-01", "A-02"]


def test_the_set_up_screen_shows_what_the_scanner_sent_including_the_group_separator(site, live_server, page, shot):
    sign_in(page, live_server)
    page.goto(live_server + "/scanner")
    page.keyboard.type("#]C1010400638133393110TEST-LOT", delay=5)
    page.keyboard.press("Control+BracketRight")
    page.keyboard.type("21SN0001", delay=5)
    page.keyboard.press("Enter")
    report = page.locator("#scanner-report")
    expect(report).to_contain_text("The scanner sends the prefix '#'")
    expect(report).to_contain_text("Ctrl+] (ASCII 29)")
    expect(report).to_contain_text("]C1 sent")
    shot(page, "scanner-setup")


# Camera ----------------------------------------------------------------------------------------------


def write_y4m(path, gray: np.ndarray):
    """A one-frame 640x480 Y4M (Chromium loops it forever): the label on white, no colour."""
    frame = np.full((480, 640), 255, np.uint8)
    h, w = gray.shape
    y, x = (480 - h) // 2, (640 - w) // 2
    frame[y : y + h, x : x + w] = gray
    chroma = np.full((240, 320), 128, np.uint8)
    with open(path, "wb") as fh:
        fh.write(b"YUV4MPEG2 W640 H480 F30:1 Ip A1:1 C420jpeg\n")
        fh.write(b"FRAME\n" + frame.tobytes() + chroma.tobytes() + chroma.tobytes())


@pytest.fixture
def camera_page(playwright, browser_context_args, tmp_path):
    label = cv2.imdecode(np.frombuffer(L.png(L.bin_label("A-02")), np.uint8), cv2.IMREAD_GRAYSCALE)
    video = tmp_path / "label.y4m"
    write_y4m(video, label)
    browser = playwright.chromium.launch(
        executable_path="/usr/bin/chromium",
        args=[*LAUNCH_ARGS, "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={video}"],
    )
    context = browser.new_context(**browser_context_args)
    context.grant_permissions(["camera"])
    yield context.new_page()
    context.close()
    browser.close()


def test_a_camera_scan_of_a_label_is_decoded_on_the_server_and_queued_like_a_wedge_scan(site, live_server, camera_page,
                                                                                        shot):
    page = camera_page
    sign_in(page, live_server)
    page.goto(live_server + "/lookup")
    page.tap("[data-camera]")
    expect(page.locator("[data-camera-dialog]")).to_be_visible()
    expect(page.locator("#lookup-result")).to_contain_text("Bin A-02", timeout=15_000)
    expect(page.locator("[data-camera-dialog]")).to_be_hidden()
    # The code stays in view, yet it was one scan.
    page.wait_for_timeout(1000)
    assert logged_scans() == ["A-02"]
    expect(page.locator("#scan")).to_be_focused()
    shot(page, "camera-scan")



def test_a_code_read_from_a_blurred_frame_is_booked_only_when_the_next_frame_reads_it_too(site, live_server,
                                                                                         camera_page):
    """The server marks a read from a defocused picture `sure: false` (it can be another valid code):
    the handheld waits for a second frame that reads the same code. Here the server's answers are
    scripted: a blurred frame read as A-01, then two read as A-02."""
    page = camera_page
    answers = iter(["A-01", "A-02", "A-02"])

    def decode(route):
        text = next(answers, None)
        results = [{"symbology": "Code 128", "text": text, "position": [[0, 0]], "sure": False}] if text else []
        route.fulfill(status=200, content_type="application/json", body=json.dumps({"results": results, "ms": 1}))

    page.route("**/scan/decode", decode)
    sign_in(page, live_server)
    page.goto(live_server + "/lookup")
    page.tap("[data-camera]")
    expect(page.locator("[data-camera-message]")).to_have_text("Blurred: hold still for a second look.",
                                                                 timeout=10_000)
    expect(page.locator("#lookup-result")).to_contain_text("Bin A-02", timeout=15_000)
    expect(page.locator("[data-camera-dialog]")).to_be_hidden()
    page.wait_for_timeout(1000)
    assert logged_scans() == ["A-02"]  # A-01, read once from a blurred frame, was never booked

def test_with_no_connection_the_camera_says_so_instead_of_aiming_forever(site, live_server, camera_page):
    page = camera_page
    sign_in(page, live_server)
    page.goto(live_server + "/lookup")
    page.context.set_offline(True)
    page.tap("[data-camera]")
    expect(page.locator("[data-camera-message]")).to_have_text(
        "No connection: the camera reads codes on the server. Scan with the trigger, or type the code.",
        timeout=10_000)
    page.context.set_offline(False)
    # Back in range, the next frame is read and the dialog closes with one scan.
    expect(page.locator("#lookup-result")).to_contain_text("Bin A-02", timeout=15_000)
    assert logged_scans() == ["A-02"]


# This Chromium has no BarcodeDetector (Chrome on Android has): a stand-in that reads what the
# fake camera shows stands in for it, to show how the page uses one.
STAND_IN_DETECTOR = """
window.BarcodeDetector = class {
  static getSupportedFormats() { return Promise.resolve(["code_128", "qr_code", "ean_13"]); }
  constructor(options) { window.detectorFormats = options.formats; }
  detect(image) {
    window.detectorCalls = (window.detectorCalls || 0) + 1;
    return Promise.resolve(image.width > 0 ? [{ rawValue: "A-02", format: "code_128" }] : []);
  }
};
"""


def test_where_the_browser_reads_barcodes_the_camera_scans_with_no_connection(site, live_server, camera_page):
    page = camera_page
    page.add_init_script(STAND_IN_DETECTOR)
    sign_in(page, live_server)
    page.goto(live_server + "/lookup")
    decode_calls = []
    page.on("request", lambda r: decode_calls.append(r.url) if "/scan/decode" in r.url else None)
    page.context.set_offline(True)
    page.tap("[data-camera]")
    # Read on the handheld: the dialog closes and the scan waits in the queue.
    expect(page.locator("[data-camera-dialog]")).to_be_hidden(timeout=10_000)
    expect(page.locator("html")).to_have_attribute("data-scans-waiting", "1")
    expect(page.locator("[data-queue-state]")).to_contain_text("Offline — 1 scan kept")
    assert page.evaluate("window.detectorFormats") == ["code_128", "qr_code", "ean_13"]
    page.context.set_offline(False)
    expect(page.locator("#lookup-result")).to_contain_text("Bin A-02", timeout=15_000)
    assert logged_scans() == ["A-02"]
    assert decode_calls == []  # no frame went to the server
