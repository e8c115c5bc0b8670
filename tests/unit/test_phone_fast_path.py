"""The phone fast path (routing/phone.py `_fast_e164`) gives exactly what the full
libphonenumber parse gives, for every input it takes; it declines the rest."""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventyard.routing import phone

REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
# None, and alpha-2 codes libphonenumber has no metadata for (Antarctica, Bouvet Island).
ANY_REGION = st.sampled_from([*REGIONS, None, "AQ", "BV"])
SEPARATOR = st.sampled_from([" ", "-", ".", "(", ")", ""])


def _same(raw: str, region: str | None) -> bool:
    """True when the fast path declines `raw` or agrees with the full parse."""
    s = raw.strip()
    if not s or len(s) > 64 or s.startswith("00"):
        return True  # parse_e164 / _parse_cached never offer these to the fast path
    fast = phone._fast_e164(s, region)
    return fast is phone._SLOW or fast == phone._parse_full(s, region)


@st.composite
def typed_numbers(draw: st.DrawFn) -> str:
    """Digits as people type them: an optional '+', a trunk or exit prefix sometimes,
    separators anywhere."""
    lead = draw(st.sampled_from(["", "+", "+", "0", "1", "011", "+0", "(", "8"]))
    digits = draw(st.text("0123456789", min_size=1, max_size=17))
    out = lead
    for d in digits:
        out += draw(SEPARATOR) + d
    return out + draw(st.sampled_from(["", ")", " "]))


@settings(max_examples=3000, deadline=None)
@given(raw=typed_numbers(), region=ANY_REGION)
def test_fast_path_matches_full_parse(raw: str, region: str | None) -> None:
    assert _same(raw, region)


@settings(max_examples=500, deadline=None)
@given(raw=st.text(" +-().0123456789x#,;٣", max_size=24), region=ANY_REGION)
def test_fast_path_matches_full_parse_on_any_mix(raw: str, region: str | None) -> None:
    assert _same(raw, region)


@pytest.mark.parametrize("region", REGIONS)
def test_fast_path_matches_full_parse_on_example_numbers(region: str) -> None:
    """libphonenumber's own example numbers of every region, in E.164, international and
    national form, read with their region, none and a foreign one; also one digit short
    and one too many."""
    kinds = (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.MOBILE,
             phonenumbers.PhoneNumberType.TOLL_FREE)
    forms = (phonenumbers.PhoneNumberFormat.E164, phonenumbers.PhoneNumberFormat.INTERNATIONAL,
             phonenumbers.PhoneNumberFormat.NATIONAL)
    for kind in kinds:
        example = phonenumbers.example_number_for_type(region, kind)
        if example is None:
            continue
        for form in forms:
            text = phonenumbers.format_number(example, form)
            for raw in (text, text.replace(" ", ""), text[:-1], text + "7"):
                for reading in (region, None, "US", "DE"):
                    assert _same(raw, reading), (raw, reading)


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+14155552671", None, "+14155552671"),
        ("+1 (650) 555-0101", "DE", "+16505550101"),
        ("(650) 555-1234", "US", "+16505551234"),
        ("1 650 555 1234", "US", "+16505551234"),  # the country code typed without '+'
        ("020 7946 0018", "GB", "+442079460018"),
        ("+44 (0)20 7946 0958", None, "+442079460958"),
        ("030 12345678", "DE", "+493012345678"),
        ("+999 123", None, phone._SLOW),  # no such country code: parse retries, slow path
        ("650 555 1234 x12", "US", phone._SLOW),  # an extension: slow path
        ("020 7946 0018", None, phone._SLOW),  # no '+', no region: slow path (gives None)
    ],
)
def test_fast_path_examples(raw: str, region: str | None, expected: str | None) -> None:
    assert phone._fast_e164(raw, region) == expected
    if expected is not phone._SLOW:
        assert phone._parse_full(raw, region) == expected
