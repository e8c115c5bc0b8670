"""PII normalisation and hashing: docs/pii.md golden vectors, per-platform field sets, and
properties that must hold for any input (no empty-string hash, no raw value out)."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eventyard.platforms import PLATFORMS
from eventyard.routing import pii

EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
HEX64 = re.compile(r"[0-9a-f]{64}")
GOLDEN = [
    json.loads(line)
    for line in (Path(__file__).parent / "data" / "pii_golden.jsonl")
    .read_text("utf-8")
    .splitlines()
    if line.strip()
]

# docs/pii.md golden "field" -> the raw event's field name used by hash_user.
EVENT_FIELD = {
    "email": "email",
    "phone": "phone",
    "first_name": "firstName",
    "last_name": "lastName",
    "city": "city",
    "state": "state",
    "zip": "zip",
    "country": "country",
    "dob": "dateOfBirth",
    "gender": "gender",
    "external_id": "externalId",
}

# Each style through its public function, so the functions are tested directly and not
# only through the `normalise` dispatch table.
DIRECT: dict[str, Callable[[str, str | None], str | None]] = {
    "email_plain": lambda r, _c: pii.email(r, "plain"),
    "email_google": lambda r, _c: pii.email(r, "google"),
    "email_reddit": lambda r, _c: pii.email(r, "reddit"),
    "phone_e164": pii.phone_e164,
    "phone_digits": lambda r, c: p[1:] if (p := pii.phone_e164(r, c)) else None,
    "name": lambda r, _c: pii.name(r),
    "city": lambda r, _c: pii.city(r),
    "state": pii.state,
    "zip": pii.zip_code,
    "country": lambda r, _c: pii.country(r),
    "external_id": lambda r, _c: pii.external_id(r),
    "external_id_lower": lambda r, _c: pii.external_id(r, lowercase=True),
    "dob": lambda r, _c: pii.dob(r),
    "gender": lambda r, _c: pii.gender(r),
}

GOLDEN_CASES = [
    pytest.param(v, platform.lower(), id=f"{v['id']}-{platform.lower()}")
    for v in GOLDEN
    for platform in v["platforms"]
]

FULL_EVENT = {
    "email": "Jane.Doe@Example.com",
    "phone": "(650) 555-1212",
    "firstName": "Mary",
    "lastName": "O'Brien",
    "city": "New York",
    "state": "NY",
    "zip": "10001",
    "country": "US",
    "externalId": "User-1",
    "userId": "u-1",
    "dateOfBirth": "1990-01-02",
    "gender": "F",
}

EXPECTED_KEYS = {
    "meta": {
        "email", "phone", "firstName", "lastName", "city", "state", "zip", "country",
        "externalId", "dateOfBirth", "gender",
    },
    "google": {"email", "phone", "firstName", "lastName"},
    "linkedin": {"email"},
    "tiktok": {"email", "phone", "externalId", "firstName", "lastName", "zip"},
    "reddit": {"email", "phone", "externalId"},
    "microsoft": {"email", "phone"},
    "x": {"email", "phone"},
}  # fmt: skip


def sha(s: str) -> str:
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------- golden vectors


def test_golden_file_is_complete() -> None:
    assert len(GOLDEN) == 35
    assert {v["field"] for v in GOLDEN} == set(EVENT_FIELD)


@pytest.mark.parametrize(("vector", "platform"), GOLDEN_CASES)
def test_golden_vector(vector: dict[str, Any], platform: str) -> None:
    field = EVENT_FIELD[vector["field"]]
    style = PLATFORMS[platform].rules.fields[field]
    country = vector.get("country")

    assert pii.normalise(style, vector["input"], country=country) == vector["normalized"]
    assert DIRECT[style](vector["input"], country) == vector["normalized"]
    assert pii.sha256_hex(vector["normalized"]) == vector["sha256"]
    out = pii.hash_user(platform, {field: vector["input"]}, country=country)
    assert out[field] == vector["sha256"]


# ---------------------------------------------------------------- primitives


def test_sha256_hex_is_lowercase_hex_of_nfc_utf8() -> None:
    assert pii.sha256_hex("") == EMPTY_SHA256
    decomposed, composed = "Vale\u0301ry", "Val\u00e9ry"
    assert pii.sha256_hex(decomposed) == pii.sha256_hex(composed) == sha(composed)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("a" * 64, True),
        ("A" * 64, True),
        ("0123456789abcdef" * 4, True),
        ("a" * 63, False),
        ("a" * 65, False),
        ("g" * 64, False),
        ("a" * 64 + "\n", False),
        ("", False),
    ],
)
def test_is_prehashed(value: str, expected: bool) -> None:
    assert pii.is_prehashed(value) is expected


# ---------------------------------------------------------------- normaliser edge cases


def test_naive_digit_stripping_pitfall() -> None:
    out = pii.hash_user("meta", {"phone": "+44 (0)20 7946 0958"}, country=None)
    assert out["phone"] == sha("442079460958")
    assert out["phone"] != sha("4402079460958")


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+44 (0)20 7946 0958", "US", "+442079460958"),  # '+' beats the default region
        ("0044 20 7946 0958", None, "+442079460958"),  # 00 read as '+' without a region
        ("0044 20 7946 0958", "US", "+442079460958"),  # …and where the exit code is 011
        ("020 7946 0958", "United Kingdom", "+442079460958"),  # region given as a name
        ("(650) 555-1212 x123", "us", "+16505551212"),
        ("020 7946 0958", None, None),  # national number, no region: not guessed
        ("12", "US", None),
        ("abc", "US", None),
        ("", "US", None),
        ("+1 " + "5" * 80, None, None),
    ],
)
def test_phone_e164(raw: str, region: str | None, expected: str | None) -> None:
    assert pii.phone_e164(raw, region) == expected


@pytest.mark.parametrize(
    "raw", ["", "   ", "not-an-email", "a@b", "@example.com", "x@@example.com", "a b@x.com"]
)
def test_invalid_email_is_omitted(raw: str) -> None:
    for platform in PLATFORMS:
        assert "email" not in pii.hash_user(platform, {"email": raw}, country="US")


@pytest.mark.parametrize("raw", ["", "  ", "abc", "12", "+999 123", "555-1212"])
def test_invalid_phone_is_omitted(raw: str) -> None:
    for platform in PLATFORMS:
        assert "phone" not in pii.hash_user(platform, {"phone": raw}, country="US")


def test_email_styles_that_empty_the_local_part_are_omitted() -> None:
    assert pii.email("+tag@example.com", "reddit") is None
    assert pii.email("...@gmail.com", "google") is None
    assert pii.email("a.b+c@outlook.com", "google") == "a.b+c@outlook.com"


@pytest.mark.parametrize(
    ("fn", "raw", "expected"),
    [
        (pii.country, "U.S.A.", "us"),
        (pii.country, "uk", "gb"),
        (pii.country, "Deutschland", "de"),
        (pii.country, "gb", "gb"),
        (pii.country, "Narnia", None),
        (pii.country, "XX", None),
        (pii.dob, "1997-02-16", "19970216"),
        (pii.dob, "19970216", "19970216"),
        (pii.dob, "1997-02-16T10:00:00Z", "19970216"),
        (pii.dob, "2/30/1997", None),
        (pii.dob, "16/02/1997", None),  # day-first is not guessed
        (pii.dob, "1/1/1850", None),
        (pii.dob, "soon", None),
        (pii.gender, " MALE ", "m"),
        (pii.gender, "w", None),
        (pii.name, "  Mary\t Ann ", "mary ann"),
        (pii.name, "--", None),
        (pii.name, "A\x00b", "ab"),
        (pii.city, "12345", None),
        (pii.external_id, "   ", None),
    ],
)
def test_normaliser_edges(fn: Callable[[str], str | None], raw: str, expected: str | None) -> None:
    assert fn(raw) == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("New York", "US", "ny"),
        ("district of columbia", "United States", "dc"),
        ("Calif.", "US", "calif"),  # unknown US spelling: generic rule, no guessed code
        ("California", None, "california"),  # no country: no US lookup
        ("Nordrhein-Westfalen", "DE", "nordrheinwestfalen"),
    ],
)
def test_state(raw: str, country: str | None, expected: str) -> None:
    assert pii.state(raw, country) == expected


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("94035", "US", "94035"),
        ("940351234", "US", "94035"),
        ("2134", "US", None),  # lost leading zero is not guessed back
        ("SW1A 1AA", "GB", "sw1a1aa"),
        ("1234-567", "PT", "1234567"),
        ("  ", "GB", None),
    ],
)
def test_zip_code(raw: str, country: str | None, expected: str | None) -> None:
    assert pii.zip_code(raw, country) == expected


# ---------------------------------------------------------------- hash_user


@pytest.mark.parametrize("platform", sorted(EXPECTED_KEYS))
def test_platform_field_sets(platform: str) -> None:
    out = pii.hash_user(platform, FULL_EVENT, country="US")
    assert set(out) == EXPECTED_KEYS[platform]
    assert set(PLATFORMS[platform].rules.fields) == EXPECTED_KEYS[platform]


def test_google_never_gets_address_and_linkedin_only_email() -> None:
    google = pii.hash_user("google", FULL_EVENT, country="US")
    assert not {"city", "state", "zip", "country"} & set(google)
    assert set(pii.hash_user("linkedin", FULL_EVENT, country="US")) == {"email"}


def test_phone_form_differs_between_meta_and_the_rest() -> None:
    out = pii.hash_user_many(["meta", "google", "x"], {"phone": "(650) 555-1212"}, country="US")
    assert out["meta"]["phone"] == sha("16505551212")
    assert out["google"]["phone"] == out["x"]["phone"] == sha("+16505551212")


def test_external_id_falls_back_to_user_id() -> None:
    out = pii.hash_user("reddit", {"userId": " U-9 "}, country=None)
    assert out["externalId"] == sha("U-9")
    out = pii.hash_user("tiktok", {"userId": "U-9", "externalId": "Ext-1"}, country=None)
    assert out["externalId"] == sha("ext-1")


def test_event_country_supplies_region_and_meta_country() -> None:
    out = pii.hash_user("meta", {"phone": "(650) 555-1212"}, country="United States")
    assert out == {"phone": sha("16505551212"), "country": sha("us")}
    # Without the kwarg, the event's own country field is the default region.
    out = pii.hash_user("meta", {"phone": "020 7946 0958", "country": "GB"}, country=None)
    assert out == {"phone": sha("442079460958"), "country": sha("gb")}


@pytest.mark.parametrize("platform", sorted(PLATFORMS))
def test_prehashed_input_passes_through(platform: str) -> None:
    h = sha("anything")
    fields = dict.fromkeys(PLATFORMS[platform].rules.fields, h)
    assert pii.hash_user(platform, fields, country="US") == fields
    # Surrounding space and upper-case hex are tolerated; output is always lowercase hex.
    out = pii.hash_user(platform, {"email": f" {h.upper()} "}, country=None)
    assert out == {"email": h}


def test_unknown_platform_raises_keyerror_naming_it() -> None:
    with pytest.raises(KeyError, match="snapchat"):
        pii.hash_user("snapchat", FULL_EVENT, country="US")
    with pytest.raises(KeyError, match="known: generic, google"):
        pii.hash_user_many(["meta", "Meta"], FULL_EVENT, country="US")


def test_hash_user_many_matches_hash_user() -> None:
    many = pii.hash_user_many(PLATFORMS, FULL_EVENT, country="US")
    for platform in PLATFORMS:
        assert many[platform] == pii.hash_user(platform, FULL_EVENT, country="US")


def test_lone_surrogate_is_omitted_not_raised() -> None:
    out = pii.hash_user("meta", {"externalId": "id-\ud800", "email": "a@b.co"}, country=None)
    assert out == {"email": sha("a@b.co")}


# ---------------------------------------------------------------- generic (CRM/warehouse)

KEY = b"k" * 32


def test_generic_sha256_mode() -> None:
    out = pii.hash_user_generic(
        {"email": " A.B@Gmail.com ", "phone": "(650) 555-1212", "firstName": "Mary!",
         "companyId": " C-1 ", "country": "US"},
        mode="sha256", key=None,
    )  # fmt: skip
    assert out == {
        "email": sha("a.b@gmail.com"),
        "phone": sha("+16505551212"),
        "firstName": sha("mary"),
        "companyId": sha("C-1"),
        "country": sha("US"),
    }


def test_generic_hmac_mode() -> None:
    fields = {"email": " Jane.Doe@Example.com ", "userId": "u-1"}
    out = pii.hash_user_generic(fields, mode="hmac", key=KEY)
    # Cross-check against the stdlib directly.
    expected = hmac.new(KEY, b"jane.doe@example.com", hashlib.sha256).hexdigest()
    assert out["email"] == expected == pii.hmac_hex(KEY, "jane.doe@example.com")
    assert out["userId"] == hmac.new(KEY, b"u-1", hashlib.sha256).hexdigest()
    plain = pii.hash_user_generic(fields, mode="sha256", key=None)
    other = pii.hash_user_generic(fields, mode="hmac", key=b"another key")
    for field in fields:
        assert HEX64.fullmatch(out[field])
        assert out[field] != plain[field]
        assert out[field] != other[field]


def test_generic_hmac_keys_prehashed_values_too() -> None:
    h = sha("x")
    assert pii.hash_user_generic({"userId": h}, mode="sha256", key=None) == {"userId": h}
    assert pii.hash_user_generic({"userId": h}, mode="hmac", key=KEY) == {
        "userId": pii.hmac_hex(KEY, h)
    }


@pytest.mark.parametrize("key", [None, b""])
def test_generic_hmac_without_key_names_the_setting(key: bytes | None) -> None:
    with pytest.raises(ValueError, match="EVENTYARD_HMAC_KEY"):
        pii.hash_user_generic({"email": "a@b.co"}, mode="hmac", key=key)


# ---------------------------------------------------------------- properties

FIELD_NAMES = [*EXPECTED_KEYS["meta"], "userId"]
VALUES = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=" \t\n.-+()@'", max_size=10),  # empty after normalising
    st.sampled_from(list(FULL_EVENT.values()) + [g["input"] for g in GOLDEN]),
)
FIELDS = st.dictionaries(st.sampled_from(FIELD_NAMES), VALUES, max_size=len(FIELD_NAMES))
COUNTRIES = st.one_of(st.none(), st.sampled_from(["US", "gb", "France", "zz", ""]), st.text())


def _check_output(fields: dict[str, str], out: dict[str, str]) -> None:
    raw_values = {v for v in fields.values()} | {v.strip() for v in fields.values()}
    for value in out.values():
        assert value != EMPTY_SHA256
        assert HEX64.fullmatch(value)
        if value in raw_values:  # only a pre-hashed input may come out as itself
            assert pii.is_prehashed(value)


@settings(max_examples=200, deadline=None)
@given(fields=FIELDS, country=COUNTRIES)
def test_hash_user_properties(fields: dict[str, str], country: str | None) -> None:
    many = pii.hash_user_many(PLATFORMS, fields, country=country)
    for platform, out in many.items():
        rules = PLATFORMS[platform].rules
        assert set(out) <= (set(fields) if rules.others else set(rules.fields))
        _check_output(fields, out)


@settings(max_examples=200, deadline=None)
@given(fields=FIELDS, mode=st.sampled_from(["sha256", "hmac"]))
def test_hash_user_generic_properties(fields: dict[str, str], mode: Any) -> None:
    out = pii.hash_user_generic(fields, mode=mode, key=KEY)
    assert set(out) <= set(fields)
    _check_output(fields, out)
    assert pii.hmac_hex(KEY, "") not in out.values()


def _one_platform(platform: str, fields: dict[str, str], country: str | None) -> dict[str, str]:
    """docs/pii.md's rules for one platform, field by field: the reference hash_user_many's
    shared plan must reproduce, order of the fields included."""
    rules = PLATFORMS[platform].rules
    region = country if pii.country(country or "") else fields.get("country")
    inputs = dict(fields)
    if not inputs.get("externalId") and inputs.get("userId"):
        inputs["externalId"] = inputs["userId"]
    if not inputs.get("country") and country:
        inputs["country"] = country
    if rules.others is None:
        pairs = [(f, style, inputs.get(f)) for f, style in rules.fields.items()]
    else:
        pairs = [(f, rules.fields.get(f, rules.others), raw) for f, raw in fields.items()]
    out: dict[str, str] = {}
    for field, style, raw in pairs:
        if not raw:
            continue
        if pii.is_prehashed(raw.strip()):
            out[field] = raw.strip().lower()
        elif norm := pii.normalise(style, raw, country=region):
            with contextlib.suppress(UnicodeEncodeError):
                out[field] = pii.sha256_hex(norm)
    return out


@settings(max_examples=300, deadline=None)
@given(
    platforms=st.lists(st.sampled_from(sorted(PLATFORMS)), max_size=6, unique=True),
    fields=FIELDS, country=COUNTRIES,
)
def test_hash_user_many_follows_each_platforms_rules(
    platforms: list[str], fields: dict[str, str], country: str | None
) -> None:
    many = pii.hash_user_many(platforms, fields, country=country)
    assert list(many) == platforms
    for platform in platforms:
        assert list(many[platform].items()) == list(
            _one_platform(platform, fields, country).items()), platform
