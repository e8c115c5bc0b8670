"""The platform registry: one table that lint, compile and hashing read, refusing at
load time an entry that could not be routed safely (no PII rules, unknown style)."""

from __future__ import annotations

from typing import Any, get_args

import pytest

from eventyard.platforms import (
    GENERIC_PII,
    PLATFORMS,
    STYLES,
    Platform,
    PlatformRegistryError,
    build_registry,
    names,
    pii_rules,
)
from eventyard.policy.schema import Destination
from eventyard.routing import pii


def _entry(**overrides: Any) -> Platform:
    fields: dict[str, Any] = {
        "name": "snapchat", "klass": "ads", "max_age": "7d", "context": ("ip",),
        "click_ids": ("sccid",), "check_name": names.generic,
        "pii": pii_rules(email="email_plain"), "docs": "https://example.com/capi",
        "match_keys": (("email",), ("sccid",)),
    }  # fmt: skip
    fields.update(overrides)
    return Platform(**fields)


def test_a_complete_entry_loads() -> None:
    table = build_registry([_entry()])
    assert table["snapchat"].rules.fields == {"email": "email_plain"}
    assert pii.hash_user_many([], {}, country=None) == {}


def test_a_platform_without_pii_rules_is_refused_at_load() -> None:
    with pytest.raises(PlatformRegistryError, match="'snapchat': has no PII rules"):
        build_registry([_entry(pii=None)])


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"pii": pii_rules(email="email_snap")}, "PII style 'email_snap' is not one of"),  # type: ignore[arg-type]
        ({"pii": pii_rules()}, "PII rules hash no field at all"),
        ({"klass": "social"}, "class 'social' is not one of"),
        ({"docs": None}, "docs must be the https address"),
    ],
)
def test_an_inconsistent_entry_is_refused_naming_it(
    overrides: dict[str, Any], problem: str
) -> None:
    with pytest.raises(PlatformRegistryError, match=f"'snapchat': .*{problem}"):
        build_registry([_entry(**overrides)])


def test_a_platform_registered_twice_is_refused() -> None:
    with pytest.raises(PlatformRegistryError, match="registered twice"):
        build_registry([_entry(), _entry()])


def test_every_registered_platform_has_pii_rules_the_hashing_knows() -> None:
    assert set(pii._NORMALISERS) == STYLES
    for name, platform in PLATFORMS.items():
        assert platform.name == name
        styles = {*platform.rules.fields.values(), platform.rules.others} - {None}
        assert styles <= STYLES, name


def test_the_policy_schema_accepts_exactly_the_registered_platforms() -> None:
    annotation = Destination.model_fields["platform"].annotation
    literal = next(a for a in get_args(annotation) if get_args(a))
    assert set(get_args(literal)) == set(PLATFORMS)


def test_ad_platforms_name_their_rules_and_others_hash_every_field() -> None:
    for platform in PLATFORMS.values():
        if platform.klass == "ads":
            assert platform.rules.others is None, platform.name
            assert platform.docs and platform.docs.startswith("https://"), platform.name
        else:
            assert platform.rules is GENERIC_PII, platform.name


def test_hashing_reads_the_registry_for_a_generic_ads_destination() -> None:
    # A generic platform hashes every identity field it gets, in the order given.
    out = pii.hash_user("generic", {"userId": "u-1", "email": " A@B.co "}, country=None)
    assert list(out) == ["userId", "email"]
    assert out["email"] == pii.sha256_hex("a@b.co")
    assert out["userId"] == pii.sha256_hex("u-1")
