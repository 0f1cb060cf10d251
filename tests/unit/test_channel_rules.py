"""What a channel may publish, how its webhook is retried and signed: domain.channels, alone."""

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain import channels as c
from app.domain.stock import InputError


def test_published_is_a_share_of_s_less_the_buffer_capped():
    assert c.published(c.Rule(), 10) == 10
    assert c.published(c.Rule(share_pct=50), 7) == 3  # floor(3.5)
    assert c.published(c.Rule(share_pct=50, buffer=2), 7) == 1
    assert c.published(c.Rule(share_pct=100, buffer=20), 7) == 0  # never below zero
    assert c.published(c.Rule(cap=4), 100) == 4
    assert c.published(c.Rule(share_pct=0), 100) == 0


@given(st.integers(0, 100), st.integers(0, 10_000), st.one_of(st.none(), st.integers(0, 10_000)),
       st.integers(-50, 1_000_000))
def test_a_channel_never_publishes_less_than_nothing_or_more_than_s(share, buffer, cap, sellable):
    shown = c.published(c.Rule(share, buffer, cap), sellable)
    assert 0 <= shown <= max(0, sellable)
    if cap is not None:
        assert shown <= cap


def test_rules_from_forms_take_blanks_as_defaults_and_refuse_nonsense():
    assert c.rule_of("", "", "") == c.Rule(100, 0, None)
    assert c.rule_of("40", "3", "12") == c.Rule(40, 3, 12)
    for bad in ({"share_pct": "101"}, {"share_pct": "-1"}, {"buffer": "1e3"}, {"cap": "x"}, {"buffer": True}, {"cap": "٣"},
                {"buffer": "9" * 40}):
        with pytest.raises(InputError):
            c.rule_of(**bad)


def test_codes_and_webhooks_are_checked():
    assert c.clean_code(" Shop-EU ") == "shop-eu"
    for bad in ("", "a b", "x" * 41, "shop/eu", "<script>"):
        with pytest.raises(InputError):
            c.clean_code(bad)
    assert c.clean_webhook("") == ""
    assert c.clean_webhook("https://example.test/hook") == "https://example.test/hook"
    for bad in ("ftp://x/y", "javascript:alert(1)", "http://", "https://" + "a" * 500):
        with pytest.raises(InputError):
            c.clean_webhook(bad)


def test_backoff_doubles_up_to_ten_minutes_with_jitter():
    rnd = random.Random(1)
    waits = [c.backoff(n, rnd) for n in range(1, 12)]
    for n, w in enumerate(waits, 1):
        ceiling = min(c.MAX_RETRY_SECONDS, c.FIRST_RETRY_SECONDS * 2 ** (n - 1))
        assert ceiling / 2 <= w <= ceiling
    assert max(waits) <= c.MAX_RETRY_SECONDS
    assert len({round(c.backoff(8, rnd), 3) for _ in range(20)}) > 10  # spread, not in step
    assert c.backoff(10_000, rnd) <= c.MAX_RETRY_SECONDS


def test_a_signature_verifies_only_the_exact_body_with_the_secret():
    body = b'{"event":"availability","available":3}'
    sig = c.signature("s3cret", body)
    assert sig.startswith("sha256=") and len(sig) == 7 + 64
    assert c.verify("s3cret", body, sig)
    assert not c.verify("s3cret", body + b" ", sig)
    assert not c.verify("other", body, sig)
    assert not c.verify("s3cret", body, "")
