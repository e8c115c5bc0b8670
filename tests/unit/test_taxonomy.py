"""The canonical taxonomy: 66 events in six stages, per-event requirements, ads protection."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from eventyard.contract.model import FIELDS
from eventyard.taxonomy import STAGES, TAXONOMY, closest_canonical, near_miss

REFERENCE_MAPPING = Path(__file__).parent / "data" / "default-mapping.yaml"

MONEY_EVENTS = {
    "Purchase", "SubscriptionStarted", "PlanUpgrade", "SubscriptionRenew", "ExpansionRevenue",
    "TopUpPurchased", "Refund", "Chargeback", "CreditsPurchased",
}


def test_sixty_six_events() -> None:
    assert len(TAXONOMY) == 66
    assert all(name == spec.name for name, spec in TAXONOMY.items())


def test_stages_in_funnel_order_with_their_counts() -> None:
    assert STAGES == (
        "awareness", "interest", "acquisition", "activation", "revenue", "product_extensions"
    )
    counts = Counter(e.stage for e in TAXONOMY.values())
    assert [counts[s] for s in STAGES] == [6, 8, 7, 11, 12, 22]
    assert set(counts) == set(STAGES)


def test_money_events_require_value_and_currency() -> None:
    requiring = {n for n, e in TAXONOMY.items() if e.requires}
    assert requiring == MONEY_EVENTS
    for name in MONEY_EVENTS:
        assert set(TAXONOMY[name].requires) == {"value", "currency"}, name


def test_requirements_name_real_contract_fields() -> None:
    for event in TAXONOMY.values():
        assert set(event.requires) <= FIELDS, event.name


def test_ads_protected_events() -> None:
    protected = {n for n, e in TAXONOMY.items() if e.ads_protected}
    extensions = {n for n, e in TAXONOMY.items() if e.stage == "product_extensions"}
    assert len(extensions) == 22
    assert protected == {"Refund", "Chargeback", "Churned"} | extensions


def test_every_event_has_a_description_and_a_valid_name() -> None:
    for event in TAXONOMY.values():
        assert event.description.strip()
        assert event.name[0].isupper() and event.name.isalnum()


def test_taxonomy_is_immutable() -> None:
    with pytest.raises(TypeError):
        TAXONOMY["NewThing"] = TAXONOMY["SignUp"]  # type: ignore[index]
    with pytest.raises(AttributeError):
        TAXONOMY["SignUp"].stage = "revenue"  # type: ignore[misc]


def _mapping() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(REFERENCE_MAPPING.read_text("utf-8"))
    return loaded


def test_taxonomy_matches_the_reference_mapping() -> None:
    mapping = _mapping()
    assert tuple(mapping["stages"]) == STAGES
    assert list(mapping["events"]) == list(TAXONOMY), "same names, same order"
    for name, spec in mapping["events"].items():
        assert TAXONOMY[name].stage == spec["stage"], name
        assert TAXONOMY[name].description == spec["description"], name


def test_ads_protected_events_have_no_ad_platform_in_the_reference() -> None:
    mapping = _mapping()
    ads = [d for d, spec in mapping["destinations"].items() if spec["kind"] == "ad_platform"]
    for name, event in TAXONOMY.items():
        if event.ads_protected:
            sent = {d for d in ads if mapping["events"][name]["destinations"][d] is not None}
            assert not sent, f"{name} is protected but the reference sends it to {sent}"


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("signup", "SignUp"), ("sign_up", "SignUp"), ("SIGN-UP", "SignUp"),
     ("page.view", "PageView"), ("sso_login", "SSOLogin"), ("purchase", "Purchase")],
)
def test_near_miss_folds_case_and_separators(typed: str, meant: str) -> None:
    assert near_miss(typed) == meant


@pytest.mark.parametrize("name", ["SignUp", "MyCustomEvent", "signed_up", "Purchased"])
def test_near_miss_ignores_canonical_and_genuinely_custom_names(name: str) -> None:
    assert near_miss(name) is None


@pytest.mark.parametrize(
    ("typed", "meant"),
    [("SignUpp", "SignUp"), ("Purchse", "Purchase"), ("sign_up", "SignUp"),
     ("PageVeiw", "PageView")],
)
def test_closest_canonical_for_policy_typos(typed: str, meant: str) -> None:
    assert closest_canonical(typed) == meant


def test_closest_canonical_gives_up_on_unrelated_names() -> None:
    assert closest_canonical("Xylophone") is None
