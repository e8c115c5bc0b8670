"""PII normalisation and hashing for ad, CRM and warehouse destinations (docs/pii.md).

Which fields each platform gets, and in which style, is the platform registry's
(eventyard.platforms); this module holds the normalisers and the hashing.

Invariants every caller may rely on:

- Each output value is 64 lowercase hex characters: SHA-256 (or HMAC-SHA256) of the
  destination's own normalised string, or a pre-hashed input passed through unchanged.
- A value that is empty or invalid after normalising is omitted, never hashed, so
  sha256("") never leaves this module.
- Pure: stdlib and `phonenumbers` only. Raw values stay in process memory (including the
  bounded phone-parse cache) and are never logged or returned.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import string
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from functools import lru_cache
from types import MappingProxyType
from typing import Final, Literal

from eventyard.errors import PiiConfigError, UnknownPlatform
from eventyard.platforms import GENERIC_PII, PLATFORMS, PiiRules, Style
from eventyard.routing.phone import parse_e164
from eventyard.routing.pii_tables import (
    COUNTRY_BY_NAME,
    COUNTRY_CODES,
    US_STATE_BY_NAME,
    US_STATE_CODES,
)

__all__ = [
    "CONTACT_PII", "IDS", "PII_INPUTS", "EmailStyle", "city", "country", "dob", "email",
    "external_id", "gender", "hash_user",
    "hash_user_generic", "hash_user_many", "hmac_hex", "is_prehashed", "name", "normalise",
    "phone_e164", "sha256_hex", "state", "zip_code",
]  # fmt: skip

EmailStyle = Literal["plain", "google", "reddit"]

# The raw-event fields the router hands to hashing: identifiers, contact PII and country.
IDS: tuple[str, ...] = ("userId", "anonymousId", "externalId")
CONTACT_PII: tuple[str, ...] = ("email", "phone", "firstName", "lastName", "city", "state", "zip")
PII_INPUTS: tuple[str, ...] = (*IDS, *CONTACT_PII, "country")

# ---------------------------------------------------------------- hashing primitives

_HEX64: Final = re.compile(r"[0-9a-fA-F]{64}")


def sha256_hex(s: str) -> str:
    # NFC so that visually identical strings (composed vs decomposed accents) hash alike.
    return hashlib.sha256(unicodedata.normalize("NFC", s).encode("utf-8")).hexdigest()


def hmac_hex(key: bytes, s: str) -> str:
    return hmac.digest(key, unicodedata.normalize("NFC", s).encode("utf-8"), "sha256").hex()


def is_prehashed(s: str) -> bool:
    # fullmatch, not `$`: `$` would also accept a trailing newline.
    return _HEX64.fullmatch(s) is not None


# ---------------------------------------------------------------- character helpers


def _nfc(s: str) -> str:
    return unicodedata.normalize("NFC", s)


# Deleting via str.translate is several times faster than a per-character category test,
# and most values are ASCII, so ASCII gets a precomputed table and the rest the slow path.
_ASCII_CONTROLS: Final = "".join(chr(c) for c in [*range(32), 127] if not chr(c).isspace())
_DEL_PUNCT: Final = str.maketrans("", "", string.punctuation + _ASCII_CONTROLS)
_DEL_PUNCT_SPACE: Final = str.maketrans(
    "", "", string.punctuation + string.whitespace + _ASCII_CONTROLS
)
_DEL_DASHES: Final = str.maketrans("", "", "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212")


_DROP_CATS: Final = frozenset(
    {"Pc", "Pd", "Ps", "Pe", "Pi", "Pf", "Po", "Sm", "Sc", "Sk", "So", "Cc", "Cs"}
)


def _drop_punct(s: str) -> str:
    """Remove Unicode P* and S* (docs/pii.md's "punctuation"), plus control characters and lone
    surrogates, which are never part of a name and cannot be UTF-8 encoded respectively."""
    if s.isascii():
        return s.translate(_DEL_PUNCT)
    return "".join(c for c in s if unicodedata.category(c) not in _DROP_CATS)


def _letters(s: str) -> str:
    """Keep letters and combining marks only (marks carry vowels in e.g. Devanagari)."""
    if s.isascii():
        return "".join(filter(str.isalpha, s))
    return "".join(c for c in s if c.isalpha() or unicodedata.category(c)[0] == "M")


# ---------------------------------------------------------------- field normalisers

# Looser than Meta's ASCII-only regex on purpose: internationalised addresses are real
# and hashing one that matches nobody costs nothing, while dropping a real one loses a match.
_EMAIL: Final = re.compile(r"[^@\s]+@[^@\s.]+(?:\.[^@\s.]+)+")
_GMAIL_DOMAINS: Final = frozenset({"gmail.com", "googlemail.com"})


def email(raw: str, style: EmailStyle = "plain") -> str | None:
    s = _nfc(raw.strip().lower())
    if style != "plain":
        local, at, domain = s.partition("@")
        if style == "reddit":  # Reddit and Microsoft: every domain, dots and +alias go
            local = local.split("+", 1)[0].replace(".", "")
        elif domain in _GMAIL_DOMAINS:  # Google: Gmail only, +tags kept (docs/pii.md)
            local = local.replace(".", "")
        s = f"{local}{at}{domain}"
    return s if _EMAIL.fullmatch(s) else None


def phone_e164(raw: str, default_region: str | None) -> str | None:
    """'+<digits>' (extension dropped), or None if unparseable. `default_region` applies
    only to numbers without a '+'/'00' prefix; any country form `country()` accepts."""
    cc = _country_code(default_region)
    return parse_e164(raw, cc.upper() if cc else None)


def name(raw: str) -> str | None:
    s = " ".join(_drop_punct(_nfc(raw).lower()).split())
    return _nfc(s) or None


def city(raw: str) -> str | None:
    return _nfc(_letters(_nfc(raw).lower())) or None


def state(raw: str, country: str | None = None) -> str | None:
    s = _nfc(raw).lower()
    if _country_code(country) == "us":
        key = _letters(s)
        if key in US_STATE_CODES:
            return key
        code = US_STATE_BY_NAME.get(key)
        if code is not None:
            return code
        # Unknown US spelling: fall through to the generic rule rather than guess a code.
    if s.isascii():
        out = s.translate(_DEL_PUNCT_SPACE)
    else:
        out = "".join(c for c in _drop_punct(s) if not c.isspace())
    return _nfc(out) or None


_US_ZIP: Final = re.compile(r"[0-9]{5}(?:[0-9]{4})?")


def zip_code(raw: str, country: str | None = None) -> str | None:
    s = "".join(_nfc(raw).lower().split()).translate(_DEL_DASHES)
    if _country_code(country) == "us":
        # ZIP or ZIP+4 only; a 4-digit "zip" (lost leading zero) is not guessed back.
        return s[:5] if _US_ZIP.fullmatch(s) else None
    return s or None


@lru_cache(maxsize=4096)  # few distinct values, asked for on every event
def _country_code(raw: str | None) -> str | None:
    if not raw:
        return None
    key = _letters(_nfc(raw).lower())  # "U.S." -> "us", "United States" -> "unitedstates"
    if key in COUNTRY_CODES:
        return key
    return COUNTRY_BY_NAME.get(key)


def country(raw: str) -> str | None:
    """ISO 3166-1 alpha-2, lowercase; None for anything not in the tables."""
    return _country_code(raw)


def external_id(raw: str, lowercase: bool = False) -> str | None:
    s = raw.strip()
    return _nfc(s.lower() if lowercase else s) or None


_DOB_FORMATS: Final = (
    re.compile(r"(?P<y>[0-9]{4})-?(?P<m>[0-9]{2})-?(?P<d>[0-9]{2})(?:[T ].*)?"),
    re.compile(r"(?P<y>[0-9]{4})[/.](?P<m>[0-9]{1,2})[/.](?P<d>[0-9]{1,2})"),
    # Month first, as in Meta's example 2/16/1997. Day-first input fails the date check
    # when day > 12 and is otherwise read as US order: there is no safe way to tell.
    re.compile(r"(?P<m>[0-9]{1,2})[/.-](?P<d>[0-9]{1,2})[/.-](?P<y>[0-9]{4})"),
)


def dob(raw: str) -> str | None:
    """YYYYMMDD for a real calendar date with year 1900..this year, else None."""
    s = raw.strip()
    for fmt in _DOB_FORMATS:
        m = fmt.fullmatch(s)
        if m is None:
            continue
        try:
            d = date(int(m["y"]), int(m["m"]), int(m["d"]))
        except ValueError:
            return None
        if not 1900 <= d.year <= date.today().year:
            return None
        return d.strftime("%Y%m%d")
    return None


_GENDERS: Final = MappingProxyType(
    {"f": "f", "female": "f", "woman": "f", "m": "m", "male": "m", "man": "m"}
)


def gender(raw: str) -> str | None:
    return _GENDERS.get(raw.strip().lower())


# ---------------------------------------------------------------- per-style dispatch

# Second argument: the event's country, already resolved to alpha-2 (or None).
_NORMALISERS: Final[Mapping[Style, Callable[[str, str | None], str | None]]] = MappingProxyType(
    {
        "email_plain": lambda r, _c: email(r, "plain"),
        "email_google": lambda r, _c: email(r, "google"),
        "email_reddit": lambda r, _c: email(r, "reddit"),
        "phone_e164": phone_e164,
        "phone_digits": lambda r, c: p[1:] if (p := phone_e164(r, c)) else None,
        "name": lambda r, _c: name(r),
        "city": lambda r, _c: city(r),
        "state": state,
        "zip": zip_code,
        "country": lambda r, _c: country(r),
        "external_id": lambda r, _c: external_id(r),
        "external_id_lower": lambda r, _c: external_id(r, lowercase=True),
        "dob": lambda r, _c: dob(r),
        "gender": lambda r, _c: gender(r),
    }
)


def normalise(style: Style, raw: str, *, country: str | None = None) -> str | None:
    """The exact string a destination hashes for `raw` under `style` (None = omit)."""
    return _NORMALISERS[style](raw, _country_code(country))


def _hash_one(
    style: Style,
    raw: str,
    cc: str | None,
    digest: Callable[[str], str] = sha256_hex,
    *,
    passthrough: bool = True,
) -> str | None:
    stripped = raw.strip()
    if passthrough and is_prehashed(stripped):
        return stripped.lower()
    norm = _NORMALISERS[style](raw, cc)
    if not norm:
        return None
    try:
        return digest(norm)
    except UnicodeEncodeError:  # lone surrogate from a JSON "\ud800" escape: omit, never raise
        return None


# A user's values recur across their events, but an event's set of ad platforms varies
# with its name, so the router's per-identity block cache misses where this per-value one
# hits. Bounded; raw values stay in process memory, as in the phone-parse cache.
@lru_cache(maxsize=65536)
def _sha256_cached(style: Style, raw: str, cc: str | None) -> str | None:
    return _hash_one(style, raw, cc)


# ---------------------------------------------------------------- per-platform blocks


def _rules(platform: str) -> PiiRules:
    try:
        return PLATFORMS[platform].rules
    except KeyError:
        known = ", ".join(sorted(PLATFORMS))
        raise UnknownPlatform(
            f"no platform {platform!r} in the registry (known: {known})"
        ) from None


def _pairs(
    rules: PiiRules, inputs: Mapping[str, str], given: Mapping[str, str]
) -> Iterator[tuple[str, Style, str | None]]:
    """(field, style, raw) to hash under `rules`: the listed fields, in the rules' order,
    from `inputs`; with `others` set, every field given, in the caller's order."""
    if rules.others is None:
        return ((f, style, inputs.get(f)) for f, style in rules.fields.items())
    others = rules.others
    return ((f, rules.fields.get(f, others), raw) for f, raw in given.items())


def hash_user(platform: str, fields: Mapping[str, str], *, country: str | None) -> dict[str, str]:
    """One destination's hashed user block, keyed by the raw event's field names."""
    return hash_user_many((platform,), fields, country=country)[platform]


# One set of platforms' hashing plan: each distinct (field, style) once, and per platform
# its (field, index into those pairs) in the rules' order.
_Plan = tuple[tuple[tuple[str, Style], ...], tuple[tuple[str, tuple[tuple[str, int], ...]], ...]]


@lru_cache(maxsize=1024)
def _plan(platforms: tuple[str, ...]) -> _Plan | None:
    """The hashing plan of `platforms`, or None when one hashes every field it is given
    (`others`), whose pairs depend on the fields. Raises UnknownPlatform."""
    rules = [(p, _rules(p)) for p in platforms]
    if any(r.others is not None for _, r in rules):
        return None
    pairs: dict[tuple[str, Style], int] = {}
    blocks = tuple(
        (p, tuple((f, pairs.setdefault((f, style), len(pairs))) for f, style in r.fields.items()))
        for p, r in rules
    )
    return tuple(pairs), blocks


def hash_user_many(
    platforms: Iterable[str], fields: Mapping[str, str], *, country: str | None
) -> dict[str, dict[str, str]]:
    """`hash_user` for several destinations of one event, normalising and hashing each
    (field, style) pair once: Meta, TikTok, LinkedIn and X share one email hash, etc."""
    names = tuple(platforms)
    plan = _plan(names)  # fail on a bad name before any work
    cc = _country_code(country) or _country_code(fields.get("country"))
    inputs = dict(fields)
    # A stable internal id is the external id when none is given (docs/pii.md, external id).
    if not inputs.get("externalId") and inputs.get("userId"):
        inputs["externalId"] = inputs["userId"]
    # Meta's `country` is "always send": the event's country stands in for a missing field.
    if not inputs.get("country") and country:
        inputs["country"] = country
    if plan is not None:
        pairs, blocks = plan
        hashes = [_sha256_cached(style, raw, cc) if (raw := inputs.get(field)) else None
                  for field, style in pairs]
        return {p: {f: h for f, i in block if (h := hashes[i]) is not None}
                for p, block in blocks}
    memo: dict[tuple[str, Style], str | None] = {}
    out: dict[str, dict[str, str]] = {}
    for platform in names:
        block: dict[str, str] = {}
        for field, style, raw in _pairs(_rules(platform), inputs, fields):
            if not raw:
                continue
            key = (field, style)
            if key not in memo:
                memo[key] = _sha256_cached(style, raw, cc)
            if (h := memo[key]) is not None:
                block[field] = h
        out[platform] = block
    return out


def hash_user_generic(
    fields: Mapping[str, str],
    *,
    mode: Literal["sha256", "hmac"],
    key: bytes | None,
    country: str | None = None,
    rules: PiiRules = GENERIC_PII,
) -> dict[str, str]:
    """Hashed identity fields for CRM/warehouse hashed modes; same keys as `fields`.

    `rules` are the destination platform's (every CRM and warehouse platform hashes every
    field it gets). In hmac mode a 64-hex input is keyed like any other value instead of
    passed through: the column promises keyed pseudonyms, and a bare SHA-256 is
    dictionary-reversible.
    """
    digest: Callable[[str], str]
    if mode == "hmac":
        if not key:
            raise PiiConfigError("hmac mode needs a key: set EVENTYARD_HMAC_KEY")
        hmac_key = key

        def digest(s: str) -> str:
            return hmac_hex(hmac_key, s)

    elif mode == "sha256":
        digest = sha256_hex
    else:
        raise PiiConfigError(f"unknown hash mode {mode!r} (expected 'sha256' or 'hmac')")
    cc = _country_code(country) or _country_code(fields.get("country"))
    out: dict[str, str] = {}
    for field, style, raw in _pairs(rules, fields, fields):
        if not raw:
            continue
        h = _hash_one(style, raw, cc, digest, passthrough=mode == "sha256")
        if h is not None:
            out[field] = h
    return out
