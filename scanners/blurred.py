"""A model-based reader for EAN-13 and UPC-A codes too blurred for edge finders.

zxing-cpp and zbar look for edges between bars. In a defocused photo with a
module about 1 px wide, the blur spans several modules and the edges are gone,
yet the grey profile across the bars still holds the code: it is the symbol's
bit pattern blurred. This reader fits that model to the profile:

1. Find the barcode (locate.py: many parallel edges of both polarities close together),
   turn it upright and average three bands of rows into grey profiles.
2. For each profile, find where the 95-module symbol starts and ends: bright
   runs (quiet zones) give candidates, and a search scored by the best digit
   at each of the 12 places picks the start and end.
3. A Viterbi search over the 12 digits, whose states carry the neighbouring
   digits (blur mixes each digit with the ones beside it), the first digit's
   parity pattern and the running check sum, gives the code that best
   explains the profile, and the cost of the best other code. Start, end,
   blur and illumination are refitted to the digits found and the search is
   repeated until they hold (a quicker search without the two rules does the
   rounds; the full one gives the answer). Blur and code trade off, so the
   best code at a lesser blur is refitted too and kept where it fits better.
4. A code is kept only when it explains the profile clearly better than any
   other valid code, in two bands or by a wide margin in one, the margin
   counting half from a blur of 1.8 modules on, and no band read before
   reads another code clearly. A misread books stock to the wrong item;
   giving up sends the operator to the next scan.

Plain numpy and OpenCV. It runs only after the edge finders have found
nothing: 15-90 ms on one core for a 240 x 240 photo (bench/decode.py).
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import locate

MAX_ENDS = 8  # start-end pairs searched per profile, nearest the bars' region first
MAX_SIDE = 400  # the search works on a small copy: its cost grows with the profile length
S = 4  # samples per module in the model
Q = 6  # quiet modules modelled on each side
NS = (95 + 2 * Q) * S
U = (np.arange(NS) + 0.5) / S - Q  # module coordinate of each sample; the symbol is 0..95
T = U / 95  # where across the symbol a sample lies, for illumination that changes across it
SYMBOL = slice(Q * S, (95 + Q) * S)  # the samples on the symbol (U in 0..95), as a view

_L = [
    "0001101",
    "0011001",
    "0010011",
    "0111101",
    "0100011",
    "0110001",
    "0101111",
    "0111011",
    "0110111",
    "0001011",
]
L_BITS = np.array([[int(c) for c in s] for s in _L], dtype=np.float64)
R_BITS = 1 - L_BITS
G_BITS = R_BITS[:, ::-1].copy()
LEFT_BITS = np.concatenate([L_BITS, G_BITS])  # index d for L-code d, 10 + d for G-code d
PARITY = [
    "LLLLLL",
    "LLGLGG",
    "LLGGLG",
    "LLGGGL",
    "LGLLGG",
    "LGGLLG",
    "LGGGLL",
    "LGLGLG",
    "LGLGGL",
    "LGGLGL",
]
START = [3 + 7 * i for i in range(6)] + [50 + 7 * i for i in range(6)]  # first module of each digit
# Samples each digit is scored on: the guards go to the digits beside them.
_EDGES = [-Q, 10, 17, 24, 31, 38, 47.5, 57, 64, 71, 78, 85, 95 + Q]
SPAN = [(int((_EDGES[i] + Q) * S), int((_EDGES[i + 1] + Q) * S)) for i in range(12)]
WEIGHT = np.array([3 if i % 2 == 0 else 1 for i in range(12)])  # check-sum weights of the 12 coded digits
_AR = np.arange(10)
_R_BEFORE = [(_AR[None, :] - WEIGHT[i] * _AR[:, None]) % 10 for i in range(12)]
_R_AFTER = [(_AR[None, :] + WEIGHT[i] * _AR[:, None]) % 10 for i in range(12)]

COARSE_SIGMA = 0.8  # blur (in modules) assumed while looking for the symbol's ends; the fit finds the real one
COARSE_SIGMAS = (COARSE_SIGMA, 1.3)  # and a blurrier guess, for codes far out of focus
SIGMAS = (1.0, 1.2, 1.4, 1.6, 1.8, 2.0, 2.3)
BLUR_TRADE = 0.4  # how much less blur the second guess at a code assumes (0.4-0.6 read the same photos)
# Acceptance. On the 288 photos of bench/decode.py, every profile (1,538 of them,
# most of other symbologies or of nothing) read as a wrong code beat the next
# valid code by at most 12 % of its residual; right codes mostly by 20-90 %.
MARGIN_TWO = 0.15  # in each of two bands that agree
MARGIN_ONE = 0.25  # in a single band
MARGIN_THREE = 0.125  # in each of three bands that agree: just above the wrong codes' largest
# A band that reads another code by this much contradicts the answer. On 1,500 generated defocused
# EAN-13 frames (bench/decode_defocused_prints.py, seeds 5-7) it turns 2 of 21 wrong answers and 3
# of 1,119 right ones into none; none of the development photos' answers.
MARGIN_RIVAL = 0.1
# The blurrier the bars, the likelier another valid code explains them about as well: on the
# generated frames of bench/decode_defocused_prints.py no answer fitted at a blur under 1.6 modules was
# wrong, and 1 in 30 of those at 2 or more. From BLURRY on, a margin counts for 1 / BLURRY_MARGIN.
BLURRY = 1.8
BLURRY_MARGIN = 2.0
MAX_FIT = 0.03  # residual per sample, in units of the print contrast squared


def read(gray: np.ndarray, region: locate.Region | None = None) -> list[tuple[str, tuple[tuple[int, int], ...]]]:
    """The EAN-13 (or UPC-A, as 13 digits with a leading 0) read from a blurred image, with its corners.

    `region` is the bars' region when the caller has found it already (locate.find on this image)."""
    scale = 1.0
    if max(gray.shape) > MAX_SIDE:
        scale = MAX_SIDE / max(gray.shape)
        gray = cv2.resize(gray, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        region = region.scaled(scale) if region is not None else None
    found = _locate(gray, region)
    if found is None:
        return []
    bands, region, span = found
    votes: dict[str, list[float]] = {}
    for n, (p, (ya, yb)) in enumerate(bands):
        if n == 2 and not any(m >= MARGIN_TWO for margins in votes.values() for m in margins) and not any(
                sum(m >= MARGIN_THREE for m in margins) >= 2 for margins in votes.values()):
            break  # two bands without a near-miss: a third rarely settles it alone, and time matters
        r = _read_profile(p, span)
        if r is None:
            continue
        code, margin, xl, xr = r
        margins = votes.setdefault(code, [])
        margins.append(margin)
        if (margin >= MARGIN_ONE or sum(m >= MARGIN_TWO for m in margins) >= 2
                or sum(m >= MARGIN_THREE for m in margins) >= 3):
            if _contradicted(code, votes):
                return []
            img = region.to_image([[xl, ya], [xr, ya], [xr, yb], [xl, yb]]) / scale
            return [(code, tuple((round(x), round(y)) for x, y in img))]
    return []


def _contradicted(code: str, votes: dict[str, list[float]]) -> bool:
    """Whether a band read before reads another valid code clearly (by MARGIN_RIVAL) on the same bars:
    several valid codes competing for one spot, none is kept rather than the wrong one."""
    return any(other != code and max(m) >= MARGIN_RIVAL for other, m in votes.items())


# --- finding the barcode ---------------------------------------------------------------


def _locate(gray: np.ndarray, region: locate.Region | None = None):
    """Three grey profiles across the bars, with their row ranges, and the region found."""
    region = region or locate.find(gray)
    if region is None:
        return None
    upright = region.upright(gray)
    h = gray.shape[0]
    y0, y1 = region.y0, region.y1
    bands = []
    for b in range(3):
        ya = int(max(0, y0 + (y1 - y0) * (0.2 + 0.2 * b)))
        yb = int(min(h, max(ya + 1, y0 + (y1 - y0) * (0.4 + 0.2 * b))))
        if yb > ya:
            bands.append((upright[ya:yb].mean(0).astype(np.float64), (ya, yb)))
    return bands, region, (region.x0, region.x1)


def _ends(p: np.ndarray, span: tuple[float, float]) -> list[tuple[float, float]]:
    """Where a symbol could start and end: between bright runs long enough to be quiet zones."""
    lo, hi = np.percentile(p, [5, 95])
    bright = np.concatenate([[False], p > lo + 0.7 * (hi - lo), [False]])
    change = np.flatnonzero(np.diff(bright.astype(np.int8)))
    runs = list(zip(change[::2], change[1::2]))
    out = []
    for i, (a0, a1) in enumerate(runs):
        for b0, b1 in runs[i + 1 :]:
            xl, xr = a1 - 0.5, b0 - 0.5
            module = (xr - xl) / 95
            if module < 0.8:
                continue
            # A quiet zone is 7 or more modules; the image edge may cut it short.
            if a1 - a0 < 4 * module and a0 > 0:
                continue
            if b1 - b0 < 4 * module and b1 < len(p):
                continue
            # The symbol lies mostly within the region found as bars and is about as wide.
            width = (xr - xl) / max(span[1] - span[0], 1.0)
            inside = (min(xr, span[1]) - max(xl, span[0])) / (xr - xl)
            if 0.5 <= width <= 1.8 and inside >= 0.5:
                out.append((abs(np.log(width)) + (1 - inside), xl, xr))
    # The search's cost grows with the candidates: those nearest the region found as bars are enough.
    return [(xl, xr) for _, xl, xr in sorted(out)[:MAX_ENDS]]


# --- the model -------------------------------------------------------------------------


def _blur(rows: np.ndarray, sigma: float) -> np.ndarray:
    """Bits per module (k, 95 + 2Q) -> darkness at S samples per module after a Gaussian blur."""
    up = np.repeat(rows, S, axis=1)
    r = int(np.ceil(3.5 * sigma * S))
    x = np.arange(-r, r + 1) / S
    k = np.exp(-0.5 * (x / sigma) ** 2)
    k /= k.sum()
    if len(up) == 1:  # one symbol, as the fits ask for: a plain convolution is five times quicker
        return np.convolve(up[0], k, mode="same")[None]
    return sliding_window_view(np.pad(up, ((0, 0), (r, r))), k.size, axis=1) @ k


def _guard_bits() -> np.ndarray:
    b = np.zeros(95 + 2 * Q)
    b[[Q + m for m in (0, 2, 46, 48, 92, 94)]] = 1
    return b


@lru_cache(maxsize=64)
def _parts(sigma: float):
    """The blurred guards, and each digit pattern blurred on its own at each of the 12 places.

    Blur is linear, so a symbol's profile is the sum of these parts; no profile of
    a whole symbol is built while searching.
    """
    guards = _blur(_guard_bits()[None], sigma)[0]
    digits = []
    for j in range(12):
        patterns = LEFT_BITS if j < 6 else R_BITS
        rows = np.zeros((len(patterns), 95 + 2 * Q))
        rows[:, Q + START[j] : Q + START[j] + 7] = patterns
        digits.append(_blur(rows, sigma))
    # Mean and spread of whole symbols, to put a profile on the model's scale before the code is known.
    rng = np.random.default_rng(0)
    samples = np.array([render(_with_check(rng.integers(0, 10, 12)), sigma)[SYMBOL] for _ in range(32)])
    return (
        guards,
        digits,
        [d.mean(0) for d in digits],
        float(samples.mean()),
        float(samples.std(1).mean()),
    )


def _with_check(body) -> str:
    digits = [int(d) for d in body]
    total = sum(d * (3 if i % 2 else 1) for i, d in enumerate(digits))
    return "".join(map(str, digits)) + str((10 - total % 10) % 10)


def render(code13: str, sigma: float) -> np.ndarray:
    """The blurred darkness profile of an EAN-13 (0 white, 1 black), NS samples."""
    first, digits = int(code13[0]), [int(c) for c in code13[1:]]
    left = [d + (10 if PARITY[first][i] == "G" else 0) for i, d in enumerate(digits[:6])]
    return _blur(_bits(left + digits[6:])[None], sigma)[0]


def _bits(patterns) -> np.ndarray:
    """Modules of a symbol from its 12 pattern indices (left: 0-9 L-codes, 10-19 G-codes)."""
    bits = _guard_bits()
    for i, k in enumerate(patterns):
        bits[Q + START[i] : Q + START[i] + 7] = LEFT_BITS[k] if i < 6 else R_BITS[k]
    return bits


# --- finding the symbol in a profile ---------------------------------------------------


_TREND_PINV = np.linalg.pinv(np.stack([np.ones(95 * S), T[SYMBOL]], 1))


def _samples(p: np.ndarray, xl: np.ndarray, xr: np.ndarray) -> np.ndarray:
    x = xl[:, None] + U[None, :] * ((xr - xl) / 95)[:, None]
    return np.interp(x, np.arange(len(p)), p)


def _standardised(p: np.ndarray, xl: np.ndarray, xr: np.ndarray) -> np.ndarray:
    """Grey samples for each (start, end), less a linear illumination trend, in units of their spread."""
    grey = _samples(p, xl, xr)
    coef = grey[:, SYMBOL] @ _TREND_PINV.T
    grey -= coef[:, :1] + coef[:, 1:] * T[None, :]
    grey /= grey[:, SYMBOL].std(1, keepdims=True) + 1e-6
    return grey


def _coarse(z: np.ndarray, sigma: float):
    """Score each standardised profile: every digit place matched to its best pattern on its own."""
    _, _, _, mu, sd = _parts(sigma)
    obs = mu - z * sd  # dark is high in the model, on the model's scale
    total = np.zeros(len(z))
    for (a0, a1), (base, c, cc) in zip(SPAN, _coarse_terms(sigma)):
        r = obs[:, a0:a1] - base
        total += np.einsum("ij,ij->i", r, r) + (cc[None] - 2 * r @ c.T).min(1)
    return total, obs


@lru_cache(maxsize=64)
def _coarse_terms(sigma: float):
    """Per digit place: the guards and the neighbours' mean patterns over its samples, its own
    patterns there, and their squares."""
    guards, digits, mean_digit, _, _ = _parts(sigma)
    terms = []
    for i, (a0, a1) in enumerate(SPAN):
        base = guards[a0:a1].copy()
        if i > 0:
            base += mean_digit[i - 1][a0:a1]
        if i < 11:
            base += mean_digit[i + 1][a0:a1]
        c = np.ascontiguousarray(digits[i][:, a0:a1])
        terms.append((base, c, (c * c).sum(1)))
    return terms


def _fit(
    p: np.ndarray,
    bits: np.ndarray,
    xl: float,
    xr: float,
    span: float,
    step: float,
    sigmas,
) -> tuple:
    """Start, end, blur and illumination that best fit known modules (least squares)."""
    xls, xrs = _grid([xl], [xr], span, step)
    grey = _samples(p, xls, xrs)
    squares = (grey * grey).sum(1)
    best = None
    for sigma in sigmas:
        m = _blur(bits[None], sigma)[0]
        # white level and contrast, each allowed to drift linearly across the symbol
        a = np.stack([np.ones_like(T), T, -m, -m * T], 1)
        projected = grey @ a
        coef = np.linalg.solve(a.T @ a, projected.T).T
        # the least-squares residual without forming it: |grey|^2 less what the fit explains
        residual = np.maximum(squares - (coef * projected).sum(1), 0.0)
        contrast = coef[:, 2] + coef[:, 3] * 0.5
        cost = residual / NS / np.maximum(contrast, 1e-6) ** 2
        cost[contrast <= 0] = np.inf
        k = int(np.argmin(cost))
        if best is None or cost[k] < best[0]:
            best = (float(cost[k]), float(xls[k]), float(xrs[k]), sigma, coef[k])
    return best


def _grid(xls, xrs, span: float, step: float) -> tuple[np.ndarray, np.ndarray]:
    d = np.arange(-span, span + 1e-9, step)
    dl, dr = (a.ravel() for a in np.meshgrid(d, d))
    return np.concatenate([xl + dl for xl in xls]), np.concatenate([xr + dr for xr in xrs])


def _read_profile(p: np.ndarray, span: tuple[float, float]):
    """(code, margin, start, end) of the best explanation of one profile, or None."""
    ends = _ends(p, span)
    if not ends:
        return None
    # Start and end within 5 px of the bright runs' edges; the best is where the exact fit starts.
    xls, xrs = _grid([xl for xl, _ in ends], [xr for _, xr in ends], 5.0, 1.0)
    z = _standardised(p, xls, xrs)
    # The blur assumed while the ends are sought decides which ends the search starts from: a heavily
    # defocused code starts right only from a blurrier guess. From each; the code that explains the
    # profile best (least residual once refitted) is the answer, with its own margin.
    best = None
    for sigma in COARSE_SIGMAS:
        scores, obs = _coarse(z, sigma)
        k = int(np.argmin(scores))
        if best is not None and (float(xls[k]), float(xrs[k])) == best[1]:
            continue  # the same start as before: the same answer
        r = _settle(p, float(xls[k]), float(xrs[k]), sigma, obs[k])
        if r is not None and (best is None or r[0] < best[0]):
            best = (r[0], (float(xls[k]), float(xrs[k])), r[1:])
    return best[2] if best is not None else None


def _settle(p: np.ndarray, xl: float, xr: float, sigma: float, obs: np.ndarray):
    """Decode, refit start, end, blur and illumination to those modules, decode again, until they hold.

    The rounds use the quick search without check sum or parity; the full search
    runs once at the end, for the code and its margin.
    """
    e = _emissions(obs, sigma)
    patterns = _patterns(e)
    for round_ in range(3):
        fitted = _refit(p, _bits(patterns), xl, xr, None if round_ == 0 else sigma)
        fit, xl, xr, sigma, _ = fitted
        e = _emissions(_observed(p, fitted), sigma)
        again = _patterns(e)
        if again == patterns:
            break
        patterns = again
    cost, code, second = _viterbi(e)
    if code != _code(patterns):
        # The best valid code is not what the quick search saw: fit the geometry to it once more.
        fitted = _refit(p, _bits(_patterns_of(code)), xl, xr, sigma)
        fit, xl, xr, sigma, _ = fitted
        e = _emissions(_observed(p, fitted), sigma)
        cost, code, second = _viterbi(e)
    # Blur and code trade off: a wrong code blurred more can explain a defocused profile about as well
    # as the right one blurred less, and the rounds above settle on whichever they started nearest.
    # The best valid code at a lesser blur is refitted too; it is kept where it fits better and is
    # still the best valid code under its own fit.
    alt = round(sigma - BLUR_TRADE, 1)
    if alt >= min(SIGMAS):
        other = _viterbi(_emissions(_observed(p, fitted), alt))[1]
        if other != code:
            refitted = _refit(p, _bits(_patterns_of(other)), xl, xr, alt)
            if refitted[0] < fit:
                again = _viterbi(_emissions(_observed(p, refitted), refitted[3]))
                if again[1] == other:
                    fit, xl, xr, sigma, _ = refitted
                    cost, code, second = again
    if fit > MAX_FIT:
        return None
    margin = (second - cost) / max(cost, 1e-9)
    return fit, code, margin / BLURRY_MARGIN if sigma >= BLURRY else margin, xl, xr


def _observed(p: np.ndarray, fitted) -> np.ndarray:
    """The profile on the model's scale (0 white, 1 black) under a fit's start, end and illumination."""
    _, xl, xr, _, coef = fitted
    return (coef[0] + coef[1] * T - _samples(p, np.array([xl]), np.array([xr]))[0]) / (coef[2] + coef[3] * T)


def _refit(p: np.ndarray, bits: np.ndarray, xl: float, xr: float, sigma: float | None):
    """Fit within 2 px, then 0.5 px; every blur the first time, then only near the last one."""
    near = SIGMAS if sigma is None else _near(sigma, 0.2)
    _, xl, xr, sigma, _ = _fit(p, bits, xl, xr, 2.0, 0.5, near)
    return _fit(p, bits, xl, xr, 0.5, 0.125, _near(sigma, 0.1))


def _near(sigma: float, step: float) -> tuple[float, ...]:
    return tuple(sorted({min(2.4, max(0.8, round(sigma + d, 1))) for d in (-step, 0.0, step)}))


def _patterns_of(code13: str) -> list[int]:
    first, digits = int(code13[0]), [int(c) for c in code13[1:]]
    return [d + (10 if i < 6 and PARITY[first][i] == "G" else 0) for i, d in enumerate(digits)]


def _code(patterns: list[int]) -> str | None:
    """The 13 digits the 12 patterns spell, or None when the parity or check digit is not valid."""
    parity = "".join("G" if k >= 10 else "L" for k in patterns[:6])
    if parity not in PARITY:
        return None
    code = str(PARITY.index(parity)) + "".join(str(k % 10) for k in patterns)
    return code if _with_check(code[:12]) == code else None


# --- the search over digits ------------------------------------------------------------


def _emissions(obs: np.ndarray, sigma: float) -> list[np.ndarray]:
    """For each digit place i: squared error over its samples for every (previous, this, next) pattern.

    ||r - prev - this - next||^2 expanded: the patterns' own products are the same for every profile
    (_place_terms); only each pattern's product with the profile is worked here.
    """
    guards = _parts(sigma)[0]
    rest = obs - guards
    out = []
    for i, ((a0, a1), (stacked, k, own)) in enumerate(zip(SPAN, _place_terms(sigma))):
        r = rest[a0:a1]
        dots = stacked @ r
        out.append((
            (r @ r + own)
            - 2 * dots[: k[0], None, None]
            - 2 * dots[k[0] : k[0] + k[1]][None, :, None]
            - 2 * dots[k[0] + k[1] :][None, None, :]
        ).astype(np.float32))  # the search's sums in single precision: twice as fast, margins unchanged
    return out


@lru_cache(maxsize=64)
def _place_terms(sigma: float):
    """Per digit place: its previous, own and next patterns over its samples, stacked; how many of each;
    and ||prev + this + next||^2 for every combination."""
    digits = _parts(sigma)[1]
    terms = []
    for i in range(12):
        a0, a1 = SPAN[i]
        none = np.zeros((1, a1 - a0))
        prev = digits[i - 1][:, a0:a1] if i > 0 else none
        this = digits[i][:, a0:a1]
        nxt = digits[i + 1][:, a0:a1] if i < 11 else none
        own = (
            (prev * prev).sum(1)[:, None, None]
            + (this * this).sum(1)[None, :, None]
            + (nxt * nxt).sum(1)[None, None, :]
            + 2 * (prev @ this.T)[:, :, None]
            + 2 * (prev @ nxt.T)[:, None, :]
            + 2 * (this @ nxt.T)[None, :, :]
        )
        terms.append((np.concatenate([prev, this, nxt]), (len(prev), len(this), len(nxt)), own))
    return terms


def _parity_index():
    """Per digit place, the indices that pick (first digit, prev, this, next) out of the 20 left patterns
    (a flat take is quicker than indexing by three arrays)."""
    places = []
    for i in range(12):
        per_first = []
        for j in (i - 1, i, i + 1):
            if not 0 <= j < 12:
                per_first.append(np.zeros((10, 1), dtype=int))
            elif j < 6:
                per_first.append(np.array([_AR + (10 if PARITY[f][j] == "G" else 0) for f in range(10)]))
            else:
                per_first.append(np.tile(_AR, (10, 1)))
        prev, this, nxt = per_first
        # as flat indices into the place's emissions, [prev, this, next] of 1, 20 (left) or 10 patterns
        shape = tuple(1 if not 0 <= j < 12 else 20 if j < 6 else 10 for j in (i - 1, i, i + 1))
        places.append(np.ravel_multi_index(
            np.broadcast_arrays(prev[:, :, None, None], this[:, None, :, None], nxt[:, None, None, :]), shape))
    return places


_BY_FIRST = _parity_index()


def _forward(e: list[np.ndarray]) -> list[np.ndarray]:
    """F[i][first, this, next, sum]: least cost of places 0..i with those digits and check sum so far.

    The first digit is not printed: it sets which left digits use L or G patterns.
    """
    e0 = np.take(e[0], _BY_FIRST[0])[:, 0]  # [first, this, next]
    f = np.full((10, 10, 10, 10), np.inf, dtype=np.float32)
    for c in range(10):
        f[:, c, :, (WEIGHT[0] * c) % 10] = e0[:, c, :]
    out = [f]
    for i in range(1, 12):
        ei = np.take(e[i], _BY_FIRST[i])  # [first, prev, this, next]
        before = f[:, :, _AR[:, None], _R_BEFORE[i]]  # [first, prev, this, sum]
        f = (before[:, :, :, None, :] + ei[:, :, :, :, None]).min(1)
        out.append(f)
    return out


def _patterns(e: list[np.ndarray]) -> list[int]:
    """The 12 patterns that best explain the profile (its _emissions), without the parity or check-sum rules."""
    f = e[0][0]  # [this, next]
    steps = []
    for i in range(1, 12):
        total = f[:, :, None] + e[i]  # [prev, this, next]
        steps.append(total.argmin(0))
        f = total.min(0)
    this, n = int(np.argmin(f[:, 0])), 0
    out = [this]
    for i in range(10, -1, -1):
        prev = int(steps[i][this, n])
        n, this = this, prev
        out.append(this)
    return out[::-1]


def _viterbi(e: list[np.ndarray]) -> tuple[float, str, float]:
    """(cost of the best valid code, the code as 13 digits, cost of the best other valid code), from a
    profile's _emissions."""
    f = _forward(e)
    ends = f[-1][_AR, :, 0, (-_AR) % 10]  # [first, last digit]: the check sum must come out at 0
    by_first = ends.min(1)
    first = int(np.argmin(by_first))
    cost = float(by_first[first])
    need = (-first) % 10
    er = [np.take(e[i], _BY_FIRST[i][first]) for i in range(12)]  # [prev, this, next]
    fs = [x[first] for x in f]
    c, r, n = int(np.argmin(fs[-1][:, 0, need])), need, 0
    digits = [c]
    for i in range(11, 0, -1):
        before = (r - WEIGHT[i] * c) % 10
        p = int(np.argmin(fs[i - 1][:, c, before] + er[i][:, c, n]))
        n, c, r = c, p, before
        digits.append(c)
    digits.reverse()
    # The best other code has another first digit, or differs from the best in some
    # place: the least cost with any other digit there (forward plus backward) is its cost.
    second = float(np.delete(by_first, first).min())
    back = np.full((10, 1, 10), np.inf)
    back[:, 0, need] = 0
    for i in range(11, -1, -1):
        marginal = (fs[i] + back).min(axis=(1, 2))
        marginal[digits[i]] = np.inf
        second = min(second, float(marginal.min()))
        if i:
            after = np.transpose(back[_AR[:, None], :, _R_AFTER[i]], (0, 2, 1))  # [this, next, sum before]
            back = (er[i][:, :, :, None] + after[None]).min(2)
    return cost, str(first) + "".join(map(str, digits)), second


def _warm() -> None:
    # Every blur the search can ask for, built once at import rather than in the
    # middle of someone's scan (about 80 ms in all).
    for sigma in {COARSE_SIGMA, *SIGMAS, *(round(s + d, 1) for s in SIGMAS for d in (-0.1, 0.1))}:
        _place_terms(sigma)
    for sigma in COARSE_SIGMAS:
        _coarse_terms(sigma)


_warm()
