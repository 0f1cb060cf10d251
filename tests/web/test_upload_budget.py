"""Uploads within a budget (issue 17): only the formats a handheld camera sends, their size read
from the header before any decode, and a photo decoded outside the database write lock."""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from tests.builders import ean_for, make_site, receive
from tests.web.test_stock_control import HX, Person


def hdr(width: int, height: int, rows: int | None = None) -> bytes:
    """A run-length-encoded Radiance HDR picture, mostly one colour: a few MB that decode to GBs
    (`rows`: only the first rows, for a header that declares more than a request may carry)."""
    head = f"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y {height} +X {width}\n".encode()
    runs = b""
    for _ in range(4):  # each of the four channels: runs of 127 equal bytes
        left = width
        while left:
            n = min(127, left)
            runs += bytes([128 + n, 128])
            left -= n
    line = bytes([2, 2, width >> 8, width & 255]) + runs
    return head + line * (height if rows is None else rows)


def png_declaring(width: int, height: int) -> bytes:
    """A valid PNG header that declares a huge picture, with a few bytes of pixels."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 50_000))
            + chunk(b"IEND", b""))


HUGE = [
    pytest.param(hdr(12000, 8000), id="hdr-12000x8000"),
    pytest.param(hdr(50000, 50000, rows=2000), id="hdr-50000x50000"),
    pytest.param(png_declaring(12000, 8000), id="png-12000x8000"),
    pytest.param(png_declaring(50000, 50000), id="png-50000x50000"),
]


@pytest.fixture
def ann(app):
    make_site()
    return Person(app, "ann")


@pytest.mark.parametrize("data", HUGE)
def test_a_huge_or_foreign_picture_is_refused_at_scan_decode_in_under_a_second(ann, data):
    t0 = time.perf_counter()
    r = ann.do("post", "/scan/decode", data={"image": (io.BytesIO(data), "frame.jpg")},
               content_type="multipart/form-data")
    took = time.perf_counter() - t0
    assert r.status_code == 422, r.text
    assert "megapixels" in r.json["error"]["message"] or "JPEG, PNG or WebP" in r.json["error"]["message"]
    assert took < 1.0, took


def _damage_tag(person) -> int:
    receive("SKU-1", 5, to_bin="A-01")
    tid = person.start("/tasks/damage")
    person.scan(tid, "A-01")
    person.tap(tid, "reason:wet")
    r = person.scan(tid, ean_for(1))
    assert "Damaged 1" in r.text, r.text[:400]
    return tid


@pytest.mark.parametrize("data", HUGE)
def test_a_huge_or_foreign_picture_is_never_stored_as_a_damage_photo(app, ann, data):
    tid = _damage_tag(ann)
    t0 = time.perf_counter()
    r = ann.do("post", f"/tasks/{tid}/photo", data={"photo": (io.BytesIO(data), "damage.jpg")},
               content_type="multipart/form-data")
    took = time.perf_counter() - t0
    assert r.status_code == 422 and "That photo cannot be used" in r.text, r.text[:400]
    assert took < 1.0, took
    from app.extensions import db
    from app.models import Photo

    assert db.session.query(Photo).count() == 0


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "WEBP"])
def test_the_formats_a_camera_sends_are_stored_and_shrunk(app, ann, kind):
    tid = _damage_tag(ann)
    buf = io.BytesIO()
    Image.new("RGB", (2000, 1500), (200, 40, 40)).save(buf, kind)
    r = ann.do("post", f"/tasks/{tid}/photo", data={"photo": (io.BytesIO(buf.getvalue()), "p")},
               content_type="multipart/form-data")
    assert r.status_code == 303, r.text[:400]
    import numpy as np

    from app.extensions import db
    from app.models import Photo

    (stored,) = db.session.query(Photo).all()  # in the database, not on this host's disk
    assert stored.name.startswith("damage-") and stored.content_type == "image/jpeg"
    image = cv2.imdecode(np.frombuffer(stored.data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape[:2] == (960, 1280)


@pytest.mark.parametrize("data, says", [
    (b"GIF89a" + b"\x00" * 100, "JPEG, PNG or WebP"),
    (b"II*\x00" + b"\x00" * 100, "JPEG, PNG or WebP"),  # TIFF
    (b"\xff\xd8\xff\xe0" + b"\x00" * 40, "damaged or cut short"),
])
def test_other_or_broken_pictures_are_named_as_such(ann, data, says):
    r = ann.do("post", "/scan/decode", data={"image": (io.BytesIO(data), "x.png")},
               content_type="multipart/form-data")
    assert r.status_code == 422 and says in r.json["error"]["message"], r.text


def test_lookups_are_answered_while_a_36_megapixel_photo_is_still_being_decoded(app, ann, monkeypatch):
    """The photo is decoded outside any transaction or lock: lookups are answered while its decode is
    held open (no timing: the decode waits until they are answered, and would wait in vain if it blocked them)."""
    tid = _damage_tag(ann)
    bob = Person(app, "bob")
    rng = np.random.default_rng(7)
    h, w = 4912, 7360  # a 36-megapixel camera
    coarse = rng.integers(0, 255, (h // 16, w // 16, 3), dtype=np.uint8)  # a photo's texture, not flat colour
    image = cv2.resize(coarse, (w, h), interpolation=cv2.INTER_LINEAR)
    ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    data = jpeg.tobytes()
    assert ok and len(data) < 12 * 1024 * 1024

    decoding, answered = threading.Event(), threading.Event()
    real = cv2.imdecode

    def held_imdecode(buf, flags):  # the photo's decode goes on until the lookups are answered
        if len(buf) < 1_000_000:
            return real(buf, flags)
        decoding.set()
        out = real(buf, flags)
        answered.wait(30)
        return out

    monkeypatch.setattr(cv2, "imdecode", held_imdecode)
    answer = {}

    def store():
        answer["r"] = ann.do("post", f"/tasks/{tid}/photo", data={"photo": (io.BytesIO(data), "big.jpg")},
                             content_type="multipart/form-data")

    worker = threading.Thread(target=store)
    worker.start()
    assert decoding.wait(10)
    for n in range(3):
        r = bob.do("post", "/lookup", data={"code": "SKU-1", "scan_id": f"look-{n}"}, headers=HX)
        assert r.status_code == 200 and "SKU-1" in r.text
    decode_still_held = worker.is_alive()
    answered.set()
    worker.join()
    assert decode_still_held  # the lookups did not wait for the photo
    assert answer["r"].status_code == 303, answer["r"].text[:300]
