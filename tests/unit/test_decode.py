"""Decoding images: generated labels, bad input, the CLI, and a look at the real photos."""

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import cv2
import numpy as np
import pytest

from scanners import ImageError, decode, decode_bytes
from scanners import labels as L

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT.parent / "shared" / "barcode-samples"
needs_samples = pytest.mark.skipif(not SAMPLES.is_dir(), reason=f"no sample photos at {SAMPLES}")

EVERY_LABEL = [
    L.bin_label("A-01-1", "MAIN"),
    L.bin_label("DOCK-01"),
    L.plate_label("LP00000042"),
    L.item_label("4006381333931", "SKU-1", "Hex bolt"),
    L.item_label("96385074", "SKU-2"),
    L.item_label("036000291452", "SKU-3"),
    L.item_label("14006381333938", "SKU-1"),
    L.item_label("IN-HOUSE-77", "SKU-4"),
    L.carton_label("14006381333938", "SKU-1", lot="L-2026/7", expiry=date(2027, 3, 31), count=12),
    L.carton_label("04006381333931", "SKU-1", lot="ABC"),
]


def gray(png: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_GRAYSCALE)


@pytest.mark.parametrize("label", EVERY_LABEL, ids=lambda lb: f"{lb.kind}-{lb.symbology}")
def test_every_label_image_decodes_back_to_its_own_text(label):
    assert [r.text for r in decode_bytes(L.png(label))] == [label.scan_text]


@pytest.mark.parametrize("label", EVERY_LABEL, ids=lambda lb: f"{lb.kind}-{lb.symbology}")
def test_every_zpl_label_encodes_the_same_text_as_its_sheet_label(label):
    # No printer here: the barcode field of the ZPL is drawn again and decoded.
    (printed,) = L.zpl_symbols(L.zpl([label]))
    assert printed.symbology == label.symbology
    assert [r.text for r in decode_bytes(L.png(printed))] == [label.scan_text]


def test_zpl_escapes_caret_and_tilde_in_printed_text():
    out = L.zpl([L.item_label("4006381333931", "SKU^1", "50% ~off_")])
    assert "SKU_5E1" in out and "50% _7Eoff_5F" in out


def test_upc_a_reads_as_upc_a_with_its_gtin_whichever_decoder_found_it():
    (r,) = decode_bytes(L.png(L.item_label("036000291452", "S")))
    assert (r.symbology, r.text, r.gtin) == ("UPC-A", "036000291452", "00036000291452")


def test_a_colour_frame_and_a_rotated_label_are_read():
    img = gray(L.png(L.bin_label("B-07-3")))
    padded = cv2.copyMakeBorder(img, 60, 60, 60, 60, cv2.BORDER_CONSTANT, value=255)
    colour = cv2.cvtColor(padded, cv2.COLOR_GRAY2BGR)
    assert [r.text for r in decode(colour)] == ["B-07-3"]
    assert [r.text for r in decode(cv2.rotate(padded, cv2.ROTATE_90_CLOCKWISE))] == ["B-07-3"]


def test_a_large_photo_is_downscaled_and_positions_are_in_its_own_pixels():
    img = gray(L.png(L.bin_label("C-10-4")))
    big = np.full((3000, 4000), 255, np.uint8)
    big[1000 : 1000 + img.shape[0] * 2, 1500 : 1500 + img.shape[1] * 2] = cv2.resize(
        img, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST
    )
    (r,) = decode(big)
    xs = [p[0] for p in r.position]
    assert r.text == "C-10-4" and 1400 < min(xs) < max(xs) < 1500 + img.shape[1] * 2 + 100


def test_an_image_with_no_barcode_gives_an_empty_list():
    assert decode(np.full((480, 640), 200, np.uint8)) == []


def test_an_ean13_with_a_wrong_check_digit_is_suppressed_rather_than_misread():
    # Draw a valid code, then flip the bars of the last digit to another pattern.
    label = L.item_label("4006381333931", "S")
    img = gray(L.png(label))
    assert decode(img)
    # The check digit 1 and 2 differ in one R-code module pair; swap the last digit's 7 modules.
    r_codes = {"1": "1100110", "2": "1101100"}
    quiet = 10 * L.MODULE_PX
    start = quiet + (3 + 42 + 5 + 35) * L.MODULE_PX
    for i, bit in enumerate(r_codes["2"]):
        img[:, start + i * L.MODULE_PX : start + (i + 1) * L.MODULE_PX] = 0 if bit == "1" else 255
    assert decode(img) == []


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "empty"),
        (b"not an image at all", "not a JPEG, PNG or WebP"),
        (b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 8000 +X 12000\n", "not a JPEG, PNG or WebP"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "PNG file is damaged or cut short"),
        (b"\xff" * (21 * 1024 * 1024), "larger than 20 MB"),
    ],
)
def test_bad_image_bytes_are_refused_with_a_message(data, message):
    with pytest.raises(ImageError, match=message):
        decode_bytes(data)


def test_a_decompression_bomb_is_refused_before_it_is_decoded():
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("1", (12000, 12000), 1).save(buf, "PNG")
    with pytest.raises(ImageError, match="megapixels"):
        decode_bytes(buf.getvalue())


def test_the_cli_prints_one_json_line_per_file_and_goes_on_after_a_bad_one(tmp_path):
    good = tmp_path / "bin.png"
    good.write_bytes(L.png(L.bin_label("A-01-1")))
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((100, 100), 255, np.uint8))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"nope")
    out = subprocess.run(
        [sys.executable, "-m", "scanners", "decode", str(good), str(bad), str(blank), str(tmp_path / "missing.png")],
        capture_output=True, text=True, cwd=ROOT, check=True,
    )
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [line["file"] for line in lines] == [str(good), str(bad), str(blank), str(tmp_path / "missing.png")]
    assert lines[0]["results"] == [{"symbology": "Code 128", "text": "A-01-1"}]
    assert "error" in lines[1] and lines[1]["results"] == []
    assert lines[2]["results"] == [] and "error" not in lines[2]
    assert "error" in lines[3]
    assert all(isinstance(line["ms"], float) for line in lines)


@needs_samples
@pytest.mark.parametrize("folder", ["ean8", "code128", "code39", "itf", "datamatrix", "qrcode", "upce"])
def test_real_photos_of_each_symbology_are_read_and_never_contradicted(folder):
    sys.path.insert(0, str(ROOT))
    from bench.decode import FOLDER_SYMBOLOGY, same

    symbology = FOLDER_SYMBOLOGY[folder]
    hits = 0
    files = sorted((SAMPLES / folder).glob("*.png"))
    for image in files:
        expected = image.with_suffix(".txt").read_text(encoding="utf-8")
        results = decode_bytes(image.read_bytes())
        hit = any(same(symbology, expected, r) for r in results)
        # Labels often carry a second code of the same kind; only a read *instead of* the expected one is wrong.
        assert hit or not [r for r in results if r.symbology == symbology], (image.name, [r.text for r in results])
        hits += hit
    assert hits / len(files) >= 0.9


def _written(fmt: str, text: str, scale: int = 4, border: int = 40) -> np.ndarray:
    """A symbol as zxing-cpp's writer draws it, with a quiet zone of paper around it."""
    import zxingcpp

    image = np.array(zxingcpp.write_barcode_to_image(
        zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.__members__[fmt]), scale=scale))
    return cv2.copyMakeBorder(image, border, border, border, border, cv2.BORDER_CONSTANT, value=255)


@pytest.mark.parametrize("fmt, text, name", [
    ("Code128", "óóóABC", "Code 128"),  # zbar folds Latin-1 letters: it reads "sssABC"
    ("Code39", "+A+B1", "Code 39"),  # full ASCII: "+A" is "a"; zbar leaves the pairs
])
def test_where_the_decoders_disagree_the_one_known_to_be_right_for_the_symbology_is_kept(fmt, text, name):
    import zxingcpp

    image = _written(fmt, text)
    expected = zxingcpp.read_barcodes(image)[0].text
    got = [(r.symbology, r.text) for r in decode(image)]
    assert got == [(name, expected)], got


def test_a_transparent_png_is_read_on_white_paper():
    """Black bars on a transparent background whose colour is black too: read without its alpha, the
    picture is all black."""
    bars = _written("EAN13", "4006381333931", scale=3)
    rgba = np.zeros((*bars.shape, 4), np.uint8)
    rgba[:, :, 3] = 255 - bars  # the bars opaque, the paper transparent
    ok, png = cv2.imencode(".png", rgba)
    assert ok and cv2.imdecode(png, cv2.IMREAD_GRAYSCALE).max() == 0  # what a reader without alpha sees
    assert [r.gtin for r in decode_bytes(png.tobytes())] == ["04006381333931"]


def test_a_small_code_in_a_large_photo_is_read_at_full_size():
    """A 6,000 px wide frame is shrunk to 1,280 px first, and a code two modules a pixel wide goes with it."""
    frame = np.full((4500, 6000), 235, np.uint8)
    code = _written("EAN13", "4006381333931", scale=2, border=20)
    frame[3000:3000 + code.shape[0], 4000:4000 + code.shape[1]] = code
    found = decode(frame)
    assert [r.gtin for r in found] == ["04006381333931"]
    xs = [p[0] for p in found[0].position]
    assert 4000 <= min(xs) and max(xs) <= 4000 + code.shape[1]  # in the photo's own pixels


def _scripted(monkeypatch, reads):
    """decode() on a blank frame whose preparations read, in turn, what `reads` lists (one list per
    preparation step, the plain image first; the ladder has as many steps as the list)."""
    from scanners import decoder

    def ladder(gray, where):
        for step in range(len(reads)):
            yield (lambda step=step: np.full((1, 1), step, np.uint8)), 1.0

    monkeypatch.setattr(decoder, "_ladder", ladder)
    monkeypatch.setattr(decoder, "_read", lambda img, factor: list(reads[int(img[0, 0])]))
    monkeypatch.setattr(decoder.blurred, "read", lambda gray, region=None: [])
    return decoder.decode(np.full((120, 200), 255, np.uint8))


def _ean(text, decoder_name, where=((10, 10), (90, 10), (90, 60), (10, 60))):
    from scanners import decoder

    return decoder.Result("EAN-13", text, where, "0" + text, decoder_name)


def test_a_retail_code_both_decoders_read_at_one_harder_step_is_kept(monkeypatch):
    """Two readers agreeing at one step are two votes, as one reader at two steps is."""
    got = _scripted(monkeypatch, [[], [_ean("4006381333931", "zxing-cpp+zbar")]])
    assert [r.text for r in got] == ["4006381333931"]


@pytest.mark.parametrize("later, kept", [
    ([[], [_ean("4006381333931", "zxing-cpp")]], True),  # read again at another step: kept
    ([[], [_ean("4006381333948", "zxing-cpp")]], False),  # another valid code in its place: neither
    ([], False),  # never read again: not kept on zbar's word alone
])
def test_a_retail_code_zbar_alone_read_on_the_plain_image_is_confirmed_before_it_is_kept(monkeypatch, later, kept):
    got = _scripted(monkeypatch, [[_ean("4006381333931", "zbar")], *later])
    assert [r.text for r in got] == (["4006381333931"] if kept else [])


def test_a_qr_code_in_shift_jis_without_a_character_set_named_reads_as_its_text():
    """Japanese systems write QR text in Shift-JIS with no ECI: read as Latin-1 it is garbage."""
    import zxingcpp

    symbol = zxingcpp.create_barcode("品番テスト".encode("shift_jis"), zxingcpp.BarcodeFormat.QRCode)
    image = np.array(zxingcpp.write_barcode_to_image(symbol, scale=4))
    image = cv2.copyMakeBorder(image, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=255)
    assert [(r.symbology, r.text) for r in decode(image)] == [("QR", "品番テスト")]
    utf8 = zxingcpp.create_barcode("Grüße, 品番".encode(), zxingcpp.BarcodeFormat.QRCode)
    image = cv2.copyMakeBorder(np.array(zxingcpp.write_barcode_to_image(utf8, scale=4)), 40, 40, 40, 40,
                               cv2.BORDER_CONSTANT, value=255)
    assert [r.text for r in decode(image)] == ["Grüße, 品番"]


def _upc_e(text, decoder_name, where=((40, 20), (40, 40), (60, 40), (60, 20))):
    from scanners import decoder

    return decoder.Result("UPC-E", text, where, None, decoder_name)


def test_a_code_that_overrules_zbars_plain_read_is_not_lost_and_the_overruled_one_never_wins(monkeypatch):
    """zbar reads a UPC-A as a valid UPC-E on the plain image; the next step reads the UPC-A with both
    decoders. The UPC-A is the answer: the step that overruled the UPC-E is not thrown away, and zbar
    reading its UPC-E again at later steps does not make it win over the code read in its place."""
    upc_a = _ean("0012546619592", "zxing-cpp+zbar")
    got = _scripted(monkeypatch, [
        [_upc_e("02212166", "zbar")],
        [],
        [upc_a],
        [upc_a],
        [_upc_e("02212166", "zbar")],
        [_upc_e("02212166", "zbar")],
    ])
    assert [r.text for r in got] == ["0012546619592"]


def test_two_valid_codes_competing_for_one_spot_give_neither_until_one_clearly_leads(monkeypatch):
    """Each of two codes is read once, at different steps, on the same spot: no answer beats a guess."""
    got = _scripted(monkeypatch, [[], [_ean("4006381333931", "zxing-cpp")], [_ean("4006381333948", "zbar")],
                                  [_ean("4006381333948", "zxing-cpp")]])
    assert got == []


def test_zxing_cpps_reading_of_a_upc_e_is_kept_as_the_eight_digits_printed_under_it():
    """zxing-cpp gives a UPC-E as its expanded UPC-A with a leading 0 (13 digits); that failed the
    UPC-E check and every UPC-E zxing-cpp read was dropped, leaving them to zbar alone."""
    image = _written("UPCE", "04124498", scale=3)
    found = decode(image)
    assert [(r.symbology, r.text, r.gtin) for r in found] == [("UPC-E", "04124498", "00041244000098")]
    assert "zxing-cpp" in found[0].decoder


@pytest.mark.parametrize("upce", ["04124498", "01234565", "00123457", "01200009", "12345670", "04210005"])
def test_a_upc_e_expands_and_compresses_back_to_itself(upce):
    from scanners import gtin

    assert gtin.upca_to_upce(gtin.upce_to_upca(upce)) == upce


def test_a_upc_a_with_no_zero_run_has_no_upc_e_form():
    from scanners import gtin

    assert gtin.upca_to_upce("012546619592") is None


def test_a_upc_e_one_decoder_read_on_the_plain_image_gives_way_to_the_code_read_in_its_place(monkeypatch):
    """A UPC-E's check lives in its bars' parity: zxing-cpp alone reads a sharp one as another valid
    UPC-E on the plain image. The code both read at the next steps is the answer."""
    got = _scripted(monkeypatch, [[_upc_e("04904144", "zxing-cpp")], [_upc_e("04963406", "zxing-cpp")],
                                  [_upc_e("04963406", "zxing-cpp+zbar")], [_upc_e("04904144", "zxing-cpp")]])
    assert [r.text for r in got] == ["04963406"]


def _on_a_cylinder(flat: np.ndarray, arc: float, background: int = 90) -> np.ndarray:
    """A flat label wrapped round a can whose axis runs along the bars, seen from the front: the label
    covers `arc` degrees of it, its modules narrow toward the edges and it darkens as it turns away."""
    h, w = flat.shape
    half = np.radians(arc) / 2
    radius = (w / 2) / half
    width = int(2 * radius * np.sin(half)) + 40
    x = np.arange(width) - width / 2
    s = np.clip(x / radius, -1, 1)
    flat_x = (radius * np.arcsin(s) + w / 2).astype(np.float32)
    image = cv2.remap(flat, np.tile(flat_x, (h, 1)), np.tile(np.arange(h, dtype=np.float32)[:, None], (1, width)),
                      cv2.INTER_LINEAR, borderValue=background)
    image = (image * (0.55 + 0.45 * np.sqrt(np.clip(1 - s * s, 0, 1)))[None, :]).astype(np.uint8)
    image[:, np.abs(x) >= radius * np.sin(half)] = background
    return image


@pytest.mark.parametrize("arc, pixels_per_module", [(130, 1.5), (150, 1.5), (165, 2.0)])
def test_a_label_round_a_can_is_read_unwrapped(arc, pixels_per_module):
    """Flattened the code's bars are even again; as photographed, its outer digits are too narrow."""
    flat = _written("EAN13", "4006381333931", scale=4, border=56)
    photo = _on_a_cylinder(flat, arc)
    photo = cv2.resize(photo, None, fx=pixels_per_module / 4, fy=pixels_per_module / 4, interpolation=cv2.INTER_AREA)
    photo = cv2.GaussianBlur(photo, (0, 0), 0.6)
    photo = np.clip(photo + np.random.default_rng(1).normal(0, 4, photo.shape), 0, 255).astype(np.uint8)
    photo = cv2.copyMakeBorder(photo, 40, 40, 40, 40, cv2.BORDER_CONSTANT, value=90)
    found = decode(photo)
    assert [r.gtin for r in found] == ["04006381333931"]
    xs = [p[0] for p in found[0].position]
    assert 30 <= min(xs) and max(xs) <= photo.shape[1] - 30  # mapped back onto the photo, not the flattened copy


def _tilted_itf(angle: float, pixels_per_module: float = 1.5) -> np.ndarray:
    label = _written("ITF", "15472410638784", scale=4)
    h, w = label.shape
    side = int(max(h, w) * 1.5)
    turn = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    turn[:, 2] += [(side - w) / 2, (side - h) / 2]
    photo = cv2.warpAffine(label, turn, (side, side), borderValue=110)
    photo = cv2.resize(photo, None, fx=pixels_per_module / 4, fy=pixels_per_module / 4, interpolation=cv2.INTER_AREA)
    return np.clip(photo + np.random.default_rng(3).normal(0, 3, photo.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("angle", [50, 58, 65])
def test_an_itf_is_never_read_as_a_shorter_itf_out_of_its_own_bars(angle):
    """ITF has no check digit: a scan line crossing tilted bars through their ends reads 6 or 10 of its
    14 digits as a valid ITF. Only the whole code, or nothing, is an answer."""
    found = [r.text for r in decode(_tilted_itf(angle))]
    assert found in ([], ["15472410638784"]), found



def test_an_itf_read_missing_one_digit_pair_at_an_end_of_the_bars_is_dropped():
    """Glare or a doubled image can hide an ITF-14's first pair of digits: the 12 read are a valid ITF
    that spans 87 % of the bars, above the share a shorter read needs. Its quiet zone at that end
    then holds the lost pair's bars; a whole code's holds paper, or the dark edge of its label."""
    from scanners import decoder, locate

    photo = _written("ITF", "15472410638784", scale=3)
    region = locate.find(photo)
    (whole,) = decode(photo)
    assert decoder._whole_itf(photo, whole, region)
    (x0, y0), (x1, _), (_, y1) = whole.position[:3]
    module = (x1 - x0) / (8 * 14 + 8.5)  # ITF-14, wide bars 2.5 modules
    for cut_left, cut_right, text in [(16, 0, "472410638784"), (0, 16, "154724106387")]:
        part = decoder.Result("ITF", text, (
            (x0 + cut_left * module, y0), (x1 - cut_right * module, y0),
            (x1 - cut_right * module, y1), (x0 + cut_left * module, y1)), None, "zbar")
        assert decoder._whole_itf(np.full_like(photo, 255), part, region)  # the share alone keeps it
        assert not decoder._whole_itf(photo, part, region), (cut_left, cut_right)
    # A label cut close on a dark box: one dark run past the end is the box, not bars.
    on_box = photo.copy()
    on_box[:, int(x1 + 8 * module):] = 60  # inside the window looked at (the decoders need 8 modules)
    assert [r.text for r in decode(on_box)] == ["15472410638784"]


def test_itf_reads_on_one_spot_keep_the_one_that_holds_the_other_and_drop_contradictions():
    from scanners import decoder

    def itf(text, row):
        return decoder.Result("ITF", text, ((10, row), (190, row)), None, "zbar")

    assert [r.text for r in decoder._itf_parts_dropped([itf("398802", 40), itf("39880257014904", 60)])] == [
        "39880257014904"]
    assert decoder._itf_parts_dropped([itf("880257014904", 40), itf("398802570149", 60)]) == []
    far = decoder.Result("ITF", "070429", ((400, 400), (500, 400)), None, "zbar")
    assert [r.text for r in decoder._itf_parts_dropped([itf("398802", 40), far])] == ["398802", "070429"]


def test_on_generated_photos_it_finds_more_than_either_decoder_alone_and_no_wrong_code():
    """bench/decode_synthetic.py on a small set of another seed than the README's."""
    sys.path.insert(0, str(ROOT))
    from bench.decode_synthetic import run

    s = run(36, seed=11)
    assert s["ours"]["wrong"] == 0, s["ours"]
    assert s["ours"]["found"] >= max(s["zxing-cpp"]["found"], s["zbar"]["found"]), s


def test_a_plain_read_is_not_confirmed_by_a_step_that_also_reads_another_code_in_its_place(monkeypatch):
    """zbar reads a blurred UPC-A as a valid EAN-13 with the same right half, and again at the next
    step beside the UPC-A: that is a contradiction, not a confirmation; the steps after it decide."""
    wrong, right = _ean("5018897708270", "zbar"), _ean("0059895708270", "zbar")
    both = _ean("0059895708270", "zxing-cpp+zbar")
    got = _scripted(monkeypatch, [[wrong], [right, wrong], [both], [both]])
    assert [r.text for r in got] == ["0059895708270"]


def test_a_upc_e_read_out_of_half_an_ean13_is_dropped_for_the_ean13():
    from scanners import decoder

    ean = _ean("7602152131705", "zxing-cpp")
    part = _upc_e("16021527", "zxing-cpp", where=((50, 20), (90, 20), (90, 60), (50, 60)))
    assert decoder._parts_dropped([part, ean]) == [ean]
    apart = _upc_e("16021527", "zxing-cpp", where=((300, 300), (340, 300), (340, 330), (300, 330)))
    assert decoder._parts_dropped([apart, ean]) == [apart, ean]


def test_a_second_retail_code_on_the_photos_strongest_bars_is_read_beside_the_first(monkeypatch):
    """A Japanese book: the plain image reads its price code (192...) first; the ISBN, on the larger
    bars, reads at the next two steps. Both are given, the first read first."""
    from scanners import decoder, locate

    price = _ean("1920081045006", "zxing-cpp", where=((10, 80), (90, 80), (90, 110), (10, 110)))
    isbn = _ean("9784872348880", "zbar", where=((10, 10), (90, 10), (90, 60), (10, 60)))
    bars = locate.Region(np.float64([[1, 0, 0], [0, 1, 0]]), 8, 92, 8, 62)
    monkeypatch.setattr(decoder._Where, "region", property(lambda self: bars))
    got = _scripted(monkeypatch, [[price], [isbn], [_ean("9784872348880", "zxing-cpp+zbar", isbn.position)]])
    assert [r.text for r in got] == ["1920081045006", "9784872348880"]
    # the bars found are the code already read: nothing more is looked for
    got = _scripted(monkeypatch, [[_ean("9784872348880", "zxing-cpp", isbn.position)],
                                  [price], [price]])
    assert [r.text for r in got] == ["9784872348880"]
