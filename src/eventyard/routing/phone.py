"""Phone numbers to E.164 with libphonenumber (`phonenumbers`), cached. Pure.

Raw numbers stay in process memory (the bounded cache included), never logged or returned.

Most numbers arrive as digits with the usual separators, "+1 (650) 555-0101" or
"020 7946 0018". For those, `_fast_e164` runs only the steps of `phonenumbers.parse` that
can change the result for such input (country code, national prefix, length checks),
with libphonenumber's own metadata and helpers; the generic string handling around them
(extensions, RFC 3966, letters, other scripts' digits) is a no-op for that input. Every
other input, and the IDD and "+"-less ambiguous cases, take the full parse. A property
test holds the two paths to the same result (tests/unit/test_phone_fast_path.py).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

import phonenumbers
from phonenumbers import phonenumberutil as _util
from phonenumbers.phonemetadata import PhoneMetadata
from phonenumbers.re_util import re_compile

# Longer inputs are not phone numbers; the cap also bounds what the cache can hold.
_MAX_PHONE_LEN: Final = 64

# Digits and the separators people type, a "+" only before the first digit. With no
# other character, parse's extension, phone-context and alpha handling cannot apply.
_SIMPLE: Final = re.compile(r"[ ().\-]*(\+?)[ ().\-]*([0-9][0-9 ().\-]*)")
_SEPARATORS: Final = str.maketrans("", "", " ().-")
_MIN_NSN: Final = 2  # libphonenumber's shortest and longest national significant number
_MAX_NSN: Final = 17
_MAX_CC_DIGITS: Final = 3
_NOT_ADOPTED: Final = (
    _util.ValidationResult.TOO_SHORT,
    _util.ValidationResult.IS_POSSIBLE_LOCAL_ONLY,
    _util.ValidationResult.INVALID_LENGTH,
)
_SLOW: Final = "slow"  # `_fast_e164`: take the full parse


def _fast_e164(raw: str, region: str | None) -> str | None:
    """`_parse_cached(raw, region)` for simple input, without the "00" reading; `_SLOW`
    when the input is not one this path covers."""
    m = _SIMPLE.fullmatch(raw)
    if m is None:
        return _SLOW
    plus = m[1]
    digits = m[2].translate(_SEPARATORS)
    if len(digits) < 3:  # parse's viability rule differs below three digits
        return _SLOW
    if plus:
        # _maybe_extract_country_code, number with a plus sign: the shortest prefix of
        # 1-3 digits that is a country calling code.
        if digits[0] == "0":
            return _SLOW  # parse retries without the plus
        for size in range(1, _MAX_CC_DIGITS + 1):
            cc = int(digits[:size])
            if cc in _util.COUNTRY_CODE_TO_REGION_CODE:
                national = digits[size:]
                break
        else:
            return _SLOW
        metadata = PhoneMetadata.metadata_for_region_or_calling_code(
            cc, _util.region_code_for_country_code(cc))
    else:
        if region is None or not _util._is_valid_region_code(region):
            return _SLOW
        metadata = PhoneMetadata.metadata_for_region(region, None)
        if metadata is None:
            return _SLOW
        idd = metadata.international_prefix
        if idd is not None and re_compile(idd).match(digits):
            return _SLOW
        # _maybe_extract_country_code, from the default country: the region's calling
        # code written in front of a national number.
        if metadata.country_code is None:
            return _SLOW
        cc = metadata.country_code
        national = digits
        prefix = str(cc)
        if digits.startswith(prefix):
            general = metadata.general_desc
            _, potential, _ = _util._maybe_strip_national_prefix_carrier_code(
                digits[len(prefix):], metadata)
            if (
                not _util._match_national_number(digits, general, False)
                and _util._match_national_number(potential, general, False)
            ) or _util._test_number_length(digits, metadata) == _util.ValidationResult.TOO_LONG:
                national = potential
                number_region = _util.region_code_for_country_code(cc)
                if number_region != region:
                    metadata = PhoneMetadata.metadata_for_region_or_calling_code(
                        cc, number_region)
    if metadata is None:
        return _SLOW
    if len(national) < _MIN_NSN:
        return None
    _, potential, _ = _util._maybe_strip_national_prefix_carrier_code(national, metadata)
    if _util._test_number_length(potential, metadata) not in _NOT_ADOPTED:
        national = potential
    if not _MIN_NSN <= len(national) <= _MAX_NSN:
        return None
    # is_possible_number_with_reason: the national significant number (all digits, so
    # the number itself, leading zeros included) against its country's main region.
    possible = PhoneMetadata.metadata_for_region_or_calling_code(
        cc, _util.region_code_for_country_code(cc))
    if possible is None:
        return _SLOW
    if _util._test_number_length(national, possible) != _util.ValidationResult.IS_POSSIBLE:
        return None
    return f"+{cc}{national}"


# phonenumbers.parse costs tens of µs and runs for ~5 destinations per event; the same
# users recur, so a bounded cache keyed on (stripped raw, region) pays for itself. It
# stores the E.164 string (immutable), never the mutable PhoneNumber object.
@lru_cache(maxsize=65536)
def _parse_cached(raw: str, region: str | None) -> str | None:
    if not raw.startswith("00") and (fast := _fast_e164(raw, region)) is not _SLOW:
        return fast
    return _parse_full(raw, region)


def _parse_full(raw: str, region: str | None) -> str | None:
    """The E.164 form by the full libphonenumber parse."""
    first = _try_parse(raw, region)
    # "0044 20…" where the region's exit code is not 00 (no country; US dials 011): also
    # read the 00 as "+", and prefer whichever reading libphonenumber calls valid. Only
    # then is validity needed: the check is costly, so other numbers skip it.
    if not raw.startswith("00"):
        return _format_e164(first) if first is not None else None
    found = [n for n in (first, _try_parse("+" + raw[2:], None)) if n is not None]
    for num in found:
        if phonenumbers.is_valid_number(num):
            return _format_e164(num)
    return _format_e164(found[0]) if found else None


def _try_parse(raw: str, region: str | None) -> phonenumbers.PhoneNumber | None:
    """The parsed number if it is at least possible, else None."""
    try:
        num = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    # Possible (length fits a known country code) is enough to keep: Reddit's own example
    # +1 555 444 1234 is "invalid" in libphonenumber's range metadata, and stale metadata
    # would drop real new ranges. IS_POSSIBLE_LOCAL_ONLY is refused: the area code is
    # missing, so the E.164 form would be wrong.
    reason = phonenumbers.is_possible_number_with_reason(num)
    if reason != phonenumbers.ValidationResult.IS_POSSIBLE:
        return None
    return num


def _format_e164(num: phonenumbers.PhoneNumber) -> str:
    e164: str = phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)
    return e164


def parse_e164(raw: str, region: str | None) -> str | None:
    """'+<digits>' (extension dropped), or None if not a possible number. `region` is an
    upper-case ISO 3166-1 alpha-2 code, used only when the number has no '+'/'00' prefix."""
    s = raw.strip()
    if not s or len(s) > _MAX_PHONE_LEN:
        return None
    return _parse_cached(s, region)
