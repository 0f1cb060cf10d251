"""What a scan means: a GS1 code, an item barcode, a bin, a licence plate, an order, a badge.

GS1 element strings and Digital Link URLs are read by `biip`; this module
only decides which reading applies and turns biip's findings into the few
fields the floor uses. Site codes (bins, plates, orders, badges) are matched
by patterns a site can change; a pattern's named group `code` is the value.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date

import biip
import re2
from biip.gs1_messages import GS1Message

from . import gtin as gtins
from .text import GS, MAX_SCAN, clean_scan


def N_(text: str) -> str:
    """Marks a text for the app's catalogue (pybabel -k N_); this package stays free of Flask."""
    return text


# Kinds a scan can be, in the words the screens use.
KIND_WORDS = {
    "item": N_("an item"),
    "gs1": N_("a GS1 label"),
    "bin": N_("a bin"),
    "plate": N_("a licence plate"),
    "order": N_("an order"),
    "po": N_("a purchase order"),
    "badge": N_("an operator badge"),
    "unknown": N_("an unknown code"),
    "command": N_("a command barcode"),
}
# A command barcode (printed on the labels page: Confirm, Close, Short, Leave, ...) stands for a tap.
COMMAND = re.compile(r"CMD:([A-Z][A-Z0-9:_-]{0,40})")


def command_name(text: str | None) -> str | None:
    """The command a scan is (CONFIRM for CMD:CONFIRM), or None."""
    m = COMMAND.fullmatch(clean_scan(text))
    return m.group(1) if m else None


DEFAULT_PATTERNS = {
    "badge": r"BADGE[:-](?P<code>[A-Za-z0-9._-]{1,40})",
    "order": r"SO-(?P<code>[0-9]{1,12})",
    "po": r"(?P<code>PO-[0-9]{4}-[0-9]{4})",
    "plate": r"(?P<code>LP[0-9]{6,12})",
    "bin": r"(?:BIN:)?(?P<code>[A-Z]{1,6}(?:-[A-Z0-9]{1,4}){1,3})",
}
PATTERN_KINDS = tuple(DEFAULT_PATTERNS)  # checked in this order: most specific first

SYMBOLOGY_PREFIXES = ("]C1", "]e0", "]d2", "]Q3", "]J1")  # AIM identifiers of GS1 symbols


class ScanError(ValueError):
    """The scan cannot be what it looks like (a bad check digit, a malformed date, ...).

    `message` is English; `template` and `values` let a screen say it in the operator's language
    (app.i18n.said), translating the values named in `words` and each word of a tuple value."""

    def __init__(self, message: str, template: str | None = None, words: tuple = (), **values):
        super().__init__(message)
        self.message = message
        self.template, self.words, self.values = template, words, values

    @classmethod
    def of(cls, template: str, words: tuple = (), **values) -> ScanError:
        shown = {k: " or ".join(v) if isinstance(v, tuple) else v for k, v in values.items()}
        return cls(template % shown if values else template, template, words, **values)


@dataclass
class Scan:
    kind: str  # one of KIND_WORDS
    raw: str
    code: str = ""  # the bin, plate, order, PO or badge code; the GTIN-14 for items
    gtin: str | None = None
    lot: str | None = None
    expiry: date | None = None
    serial: str | None = None
    count: int | None = None
    sscc: str | None = None
    fields: dict = field(default_factory=dict)  # every GS1 element string, AI -> value

    @property
    def words(self) -> str:
        return KIND_WORDS[self.kind]

    def as_dict(self) -> dict:
        d = asdict(self)
        d["expiry"] = self.expiry.isoformat() if self.expiry else None
        return {k: v for k, v in d.items() if v not in (None, {}, "")}


_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def compile_pattern(pattern: str):
    """A site pattern, compiled by RE2: matched in time linear in the scan's length, so a pattern a
    supervisor saves (`(a|a)*b`, say) can never hang a worker on a long scan."""
    return re2.compile(pattern, _RE2_OPTIONS)


@dataclass
class Rules:
    """A site's scan settings: what its own codes look like."""

    patterns: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PATTERNS))
    max_len: int = MAX_SCAN  # the longest scan the site takes (its longest label)

    def __post_init__(self):
        self.compiled = {}
        for kind in PATTERN_KINDS:
            pattern = self.patterns.get(kind) or DEFAULT_PATTERNS[kind]
            try:
                self.compiled[kind] = compile_pattern(pattern)
            except re2.error as exc:
                problem = exc.args[0].decode() if exc.args and isinstance(exc.args[0], bytes) else str(exc)
                raise ValueError(f"The {kind} pattern is not valid: {problem} (site patterns are matched "
                                 "in linear time: no back-references or look-arounds)") from None

    @classmethod
    def from_settings(cls, settings: dict | None) -> Rules:
        patterns = dict(DEFAULT_PATTERNS)
        for kind in PATTERN_KINDS:
            value = (settings or {}).get(f"{kind}_pattern")
            if value:
                patterns[kind] = value
        try:
            max_len = min(MAX_SCAN, max(20, int((settings or {}).get("max_scan_len") or MAX_SCAN)))
        except (TypeError, ValueError):
            max_len = MAX_SCAN
        return cls(patterns, max_len)


DEFAULT_RULES = Rules()


def parse(text: str | None, rules: Rules = DEFAULT_RULES) -> Scan:
    """Interpret one scan. Raises ScanError with a message for the operator when it cannot be right."""
    if text is not None and len(text.strip()) > rules.max_len:
        raise ScanError.of(N_("That scan is %(n)s characters long; no label here has more than %(max)s. "
                              "Nothing booked."), n=f"{len(text.strip()):,}", max=rules.max_len)
    raw = clean_scan(text)
    if not raw:
        raise ScanError.of(N_("Nothing was scanned."))

    if COMMAND.fullmatch(raw):
        return Scan("command", raw, code=raw[4:])
    if raw.startswith(SYMBOLOGY_PREFIXES) or GS in raw or _is_digital_link(raw) or raw.startswith("(0"):
        return _gs1(raw)
    for kind in PATTERN_KINDS:
        m = rules.compiled[kind].fullmatch(raw)
        if m:
            code = m.groupdict().get("code") or m.group(0)
            return Scan(kind, raw, code=code)
    if raw.isdigit():
        if len(raw) in gtins.LENGTHS:
            if gtins.problem(raw):  # digits of a GTIN's length: only the check digit can be wrong
                raise ScanError.of(N_("%(code)s is not a valid item barcode: its check digit should be %(digit)s. "
                                      "Scan it again."), code=raw, digit=gtins.check_digit(raw[:-1]))
            return Scan("item", raw, code=gtins.normalise(raw), gtin=gtins.normalise(raw))
        if len(raw) == 18:
            plate = _gs1("00" + raw)
            plate.raw = raw
            return plate
        if len(raw) > 16 and raw[:2] in ("00", "01", "02"):
            # Scanners set to drop the AIM prefix send the bare element string.
            return _gs1(raw)
    return Scan("unknown", raw, code=raw)


def _is_digital_link(raw: str) -> bool:
    return raw.lower().startswith(("http://", "https://")) and re.search(r"/(01|00|414)/\d", raw) is not None


def _gs1(raw: str) -> Scan:
    if raw.startswith("(0"):
        try:
            message = GS1Message.parse_hri(raw)
        except biip.ParseError as exc:
            raise ScanError.of(N_("This GS1 code cannot be read: %(why)s"), why=str(exc)) from None
        elements = message.element_strings
    else:
        try:
            result = biip.parse(raw)
        except biip.ParseError:
            # A broken symbology identifier ("]" and a control character) fails before any reading.
            raise ScanError.of(N_("This scan starts with “]” but no scanner symbology follows it. Scan it again, "
                                  "or check the scanner on the set-up screen.")) from None
        source = result.gs1_digital_link_uri or result.gs1_message
        if source is None:
            error = result.gs1_digital_link_uri_error or result.gs1_message_error or "not a GS1 code"
            raise _gs1_problem(error)
        elements = source.element_strings
    scan = Scan("gs1", raw)
    for e in elements:
        ai = e.ai.ai
        scan.fields[ai] = e.value
        if e.gtin_error or e.sscc_error:
            raise ScanError.of(N_("This GS1 code has a bad check digit in (%(ai)s) %(value)s. Scan it again."),
                                   ai=ai, value=e.value)
        if ai in ("01", "02"):
            scan.gtin = e.value
        elif ai == "10":
            scan.lot = e.value
        elif ai in ("17", "15", "16", "12"):
            if e.date is None:
                raise ScanError.of(N_("This GS1 code has a date that is not a date: (%(ai)s) %(value)s."),
                                       ai=ai, value=e.value)
            if ai == "17" or scan.expiry is None:
                scan.expiry = e.date
        elif ai == "21":
            scan.serial = e.value
        elif ai in ("30", "37"):
            if not (e.value.isascii() and e.value.isdigit()):
                raise ScanError.of(N_("This GS1 code has a count that is not a number: (%(ai)s) %(value)s."),
                                       ai=ai, value=e.value or "empty")
            scan.count = int(e.value)
        elif ai == "00":
            scan.sscc = e.value
    if scan.gtin is None and scan.sscc is None:
        raise ScanError.of(N_("This GS1 code names neither an item (01) nor a pallet (00)."))
    if scan.gtin is None:
        # A pallet label on its own is a licence plate.
        return Scan("plate", raw, code=scan.sscc, sscc=scan.sscc, fields=scan.fields)
    scan.code = scan.gtin
    return scan


def _gs1_problem(error: str) -> ScanError:
    m = re.search(r"GS1 AI \((\d+)\)", error)
    if m:
        ai = m.group(1)
        if ai in ("11", "12", "13", "15", "16", "17"):
            return ScanError.of(N_("This GS1 code has a malformed date in (%(ai)s). Scan it again or enter it by hand."),
                                ai=ai)
        return ScanError.of(N_("This GS1 code has a malformed field in (%(ai)s). Scan it again or enter it by hand."),
                            ai=ai)
    return ScanError.of(N_("This GS1 code cannot be read: %(why)s"), why=error.replace("\x1d", "<GS>"))


def expect(scan: Scan, *kinds: str) -> Scan:
    """The scan, if the step wants one of these kinds; else a ScanError saying what was wanted."""
    if scan.kind in kinds or ("item" in kinds and scan.kind == "gs1" and scan.gtin):
        return scan
    wanted = tuple(KIND_WORDS[k] for k in kinds if k not in ("unknown", "gs1"))
    raise ScanError.of(N_("Scan %(wanted)s — that was %(found)s."), words=("found",), wanted=wanted, found=scan.words)
