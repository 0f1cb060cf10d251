"""Where the bars of a linear barcode are in a photo, and at what angle.

Bars are many strong edges at one angle (coherence) of both polarities, so that
they cancel on average (unlike a label's or a box's single edge). The region
scoring highest is the barcode; the mean gradient angle over it turns it upright.
Used by the readers that work on the code's own region: the model reader for
defocused codes (blurred.py) and the unwrapping of labels on cylinders.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass
class Region:
    rotation: np.ndarray  # 2 x 3 affine from the image to the upright image (bars vertical)
    x0: float  # the bars' extent in the upright image, in the image's own pixels
    x1: float
    y0: float
    y1: float

    def scaled(self, s: float) -> "Region":
        """The same region in an image scaled by s."""
        rotation = self.rotation.copy()
        rotation[:, 2] *= s
        return Region(rotation, self.x0 * s, self.x1 * s, self.y0 * s, self.y1 * s)

    def upright(self, gray: np.ndarray, dtype=np.float32) -> np.ndarray:
        h, w = gray.shape
        return cv2.warpAffine(gray.astype(dtype), self.rotation, (w, h), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)

    def blur(self, gray: np.ndarray) -> float:
        """How far out of focus the bars are: the Gaussian blur that would make the steepest edges across
        the middle of the region as shallow as they are, in modules of a 95-module retail code as wide.
        Sharp photos measure 0.3-0.7, codes the edge finders cannot read any more 0.9 and up."""
        upright = self.upright(gray)
        tall = self.y1 - self.y0
        rows = upright[int(max(0, self.y0 + 0.35 * tall)):int(self.y0 + 0.65 * tall) + 1]
        p = rows[:, int(max(0, self.x0)):int(self.x1) + 1].mean(0) if rows.size else np.zeros(0)
        if p.size < 20:
            return 0.0
        contrast = np.percentile(p, 95) - np.percentile(p, 5)
        steepest = np.percentile(np.abs(np.diff(p)), 98)
        # an edge of contrast c blurred by a Gaussian of sigma s px rises at most c / (s * sqrt(2 pi))
        sigma = contrast / (steepest * np.sqrt(2 * np.pi) + 1e-6)
        return float(sigma / (len(p) / 95))

    def from_image(self, points) -> np.ndarray:
        """Points in the image's own pixels to the upright image."""
        return np.asarray(points, dtype=np.float64) @ self.rotation[:, :2].T + self.rotation[:, 2]

    def to_image(self, points) -> np.ndarray:
        """Points in the upright image back to the image's own pixels."""
        pts = np.asarray(points, dtype=np.float64)
        return (pts - self.rotation[:, 2]) @ np.linalg.inv(self.rotation[:, :2]).T


MAX_SIDE = 400  # found on a small copy: the region is tens of pixels wide at least


def find(gray: np.ndarray) -> Region | None:
    """The region of the strongest set of bars, in the image's own pixels, or None where there is none."""
    if max(gray.shape) <= MAX_SIDE:
        return _find(gray)
    s = MAX_SIDE / max(gray.shape)
    region = _find(cv2.resize(gray, None, fx=s, fy=s, interpolation=cv2.INTER_AREA))
    return region.scaled(1 / s) if region is not None else None


def _find(gray: np.ndarray) -> Region | None:
    g = cv2.GaussianBlur(gray.astype(np.float32), (0, 0), 1.0)
    gx = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=3)
    s = max(gray.shape) / 240 * 5

    def smooth(a):
        return cv2.GaussianBlur(a, (0, 0), s)

    jxx, jyy, jxy = smooth(gx * gx), smooth(gy * gy), smooth(gx * gy)
    magnitude = smooth(np.sqrt(gx * gx + gy * gy))
    mean_x, mean_y = smooth(gx), smooth(gy)
    coherence = np.sqrt((jxx - jyy) ** 2 + 4 * jxy**2) / (jxx + jyy + 1e-6)
    alternation = np.clip(1 - np.sqrt(mean_x**2 + mean_y**2) / (magnitude + 1e-6), 0, 1)
    score = cv2.GaussianBlur(magnitude * coherence**2 * alternation**2, (0, 0), s * 1.6)
    if score.max() <= 0:
        return None
    mask = (score > 0.25 * score.max()).astype(np.uint8)
    n, labels, _, _ = cv2.connectedComponentsWithStats(mask)
    if n < 2:
        return None
    sums = np.bincount(labels.ravel(), weights=score.ravel(), minlength=n)
    sums[0] = 0
    region = labels == int(np.argmax(sums))
    # The average gradient angle over the region (doubled, so opposite edges agree).
    theta = 0.5 * np.arctan2((2 * jxy)[region].sum(), (jxx - jyy)[region].sum())
    ys, xs = np.nonzero(region)
    rotation = cv2.getRotationMatrix2D((float(xs.mean()), float(ys.mean())), float(np.degrees(theta)), 1.0)
    moved = np.stack([xs, ys, np.ones_like(xs)], 1) @ rotation.T
    y0, y1 = np.percentile(moved[:, 1], [5, 95])
    x0, x1 = np.percentile(moved[:, 0], [2, 98])
    return Region(rotation, float(x0), float(x1), float(y0), float(y1))
