"""Label images (scanners/labels.py): every bar is a whole number of pixels, as printed."""

import cv2
import numpy as np
import pytest

from scanners import labels as L


@pytest.mark.parametrize("label", [
    L.item_label("5143430262947", "S"),
    L.item_label("9614940693805", "S"),
    L.item_label("036000291452", "S"),
    L.item_label("96385074", "S"),
    L.item_label("10012345678902", "S"),  # ITF-14
    L.bin_label("A-01-02-03"),
    L.carton_label("10012345678902", "S", lot="L42", count=12),
], ids=lambda label: f"{label.symbology}-{label.data}")
def test_every_module_of_a_label_image_is_exactly_module_px_wide(label):
    img = cv2.imdecode(np.frombuffer(L.png(label), np.uint8), cv2.IMREAD_GRAYSCALE)
    dark = (img[img.shape[0] // 2] < 128).astype(np.uint8)
    modules = np.array([int(c) for c in L._symbol(label).build()[0]], np.uint8)
    x0 = int(np.argmax(dark))  # the first bar
    expected = np.repeat(modules[int(np.argmax(modules)):], L.MODULE_PX)
    # The bars as drawn are the symbol's modules at MODULE_PX pixels each: no edge a pixel off.
    assert dark[x0 : x0 + len(expected)].tolist() == expected.tolist()
    assert not dark[x0 + len(expected) :].any()


@pytest.mark.parametrize("label, narrow_bars", [
    (L.item_label("10012345678902", "S"), 10),  # ITF-14: ten narrow bars (GS1 General Specifications)
    (L.item_label("5143430262947", "S"), 11),  # EAN-13: 11 modules on the left, 7 on the right
    (L.bin_label("A-01-02-03"), 10),  # Code 128: ten modules
], ids=lambda x: getattr(x, "symbology", str(x)))
def test_every_label_image_has_its_symbologys_quiet_zone_on_both_sides(label, narrow_bars):
    img = cv2.imdecode(np.frombuffer(L.png(label), np.uint8), cv2.IMREAD_GRAYSCALE)
    dark = np.flatnonzero(img[img.shape[0] // 2] < 128)
    narrow_px = L.MODULE_PX * (L._symbol(label).narrow if label.symbology == "itf" else 1)
    assert dark[0] >= narrow_bars * narrow_px
    assert img.shape[1] - 1 - dark[-1] >= narrow_bars * narrow_px
