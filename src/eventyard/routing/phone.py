"""Phone numbers to E.164 with libphonenumber (`phonenumbers`), cached. Pure.

Raw numbers stay in process memory (the bounded cache included), never logged or returned.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Final

import phonenumbers

# Longer inputs are not phone numbers; the cap also bounds what the cache can hold.
_MAX_PHONE_LEN: Final = 64


# phonenumbers.parse costs tens of µs and runs for ~5 destinations per event; the same
# users recur, so a bounded cache keyed on (stripped raw, region) pays for itself. It
# stores the E.164 string (immutable), never the mutable PhoneNumber object.
@lru_cache(maxsize=65536)
def _parse_cached(raw: str, region: str | None) -> str | None:
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
