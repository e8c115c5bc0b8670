"""What each destination platform accepts: name rules, standard names, defaults, context.

Facts from shared/reference/platforms.md; the policy linter and compiler read this table,
so a new platform is one entry here plus its PII rules in routing/pii.py.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType

_CUSTOM_NAME_40 = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
_GA4_RESERVED = frozenset(
    ["ad_activeview", "ad_click", "ad_exposure", "ad_query", "ad_reward", "adunit_exposure", "app_background", "app_clear_data", "app_exception", "app_remove", "app_store_refund", "app_store_subscription_cancel", "app_store_subscription_convert", "app_store_subscription_renew", "app_update", "app_upgrade", "dynamic_link_app_open", "dynamic_link_app_update", "dynamic_link_first_open", "error", "firebase_campaign", "first_open", "first_visit", "in_app_purchase", "notification_dismiss", "notification_foreground", "notification_open", "notification_receive", "os_update", "session_start", "session_start_with_rollout", "user_engagement"]
)
_GA4_RESERVED_PREFIXES = ("_", "firebase_", "ga_", "google_")
_LINKEDIN_TYPES = frozenset(
    ["ADD_TO_CART", "DOWNLOAD", "INSTALL", "KEY_PAGE_VIEW", "LEAD", "PURCHASE", "SIGN_UP", "OTHER", "TALENT_LEAD", "JOB_APPLY", "SAVE", "START_CHECKOUT", "SCHEDULE", "VIEW_CONTENT", "VIEW_VIDEO", "ADD_BILLING_INFO", "BOOK_APPOINTMENT", "REQUEST_QUOTE", "SEARCH", "SUBSCRIBE", "AD_CLICK", "AD_VIEW", "COMPLETE_SIGNUP", "SUBMIT_APPLICATION", "PHONE_CALL", "INVITE", "LOGIN", "SHARE", "DONATE", "ADD_TO_LIST", "RATE", "START_TRIAL", "OUTBOUND_CLICK", "CONTACT", "MARKETING_QUALIFIED_LEAD", "SALES_QUALIFIED_LEAD", "QUALIFIED_LEAD"]
)
_REDDIT_TYPES = frozenset(
    ["PAGE_VISIT", "VIEW_CONTENT", "SEARCH", "ADD_TO_CART", "ADD_TO_WISHLIST", "PURCHASE", "LEAD", "SIGN_UP"]
)
_HUBSPOT = re.compile(r"^[a-z][a-z0-9_]{0,49}$")
_SALESFORCE = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,254}$")
_GENERIC = re.compile(r"^[A-Za-z][A-Za-z0-9_.:-]{0,254}$")


def _meta_like(name: str) -> str | None:
    if _CUSTOM_NAME_40.fullmatch(name):
        return None
    return "must be letters, digits and _, start with a letter, at most 40 characters"


def _google(name: str) -> str | None:
    if not _CUSTOM_NAME_40.fullmatch(name):
        return "GA4 names are letters, digits and _, start with a letter, at most 40 characters"
    if name in _GA4_RESERVED or name.startswith(_GA4_RESERVED_PREFIXES):
        return "is a name GA4 reserves"
    return None


def _linkedin(name: str) -> str | None:
    if name in _LINKEDIN_TYPES:
        return None
    return "LinkedIn takes a conversion rule type (e.g. SIGN_UP, LEAD, PURCHASE), not a free name"


def _reddit(name: str) -> str | None:
    if name in _REDDIT_TYPES:
        return None
    if name.startswith("CUSTOM:") and 0 < len(name) - 7 <= 64:
        return None
    return "Reddit takes a v3 tracking type (e.g. SIGN_UP) or CUSTOM:<name up to 64 chars>"


def _hubspot(name: str) -> str | None:
    if _HUBSPOT.fullmatch(name):
        return None
    return "HubSpot internal names are lowercase letters, digits and _, at most 50 characters"


def _salesforce(name: str) -> str | None:
    if _SALESFORCE.fullmatch(name) and "__" not in name and not name.endswith("_"):
        return None
    return "Salesforce names are letters, digits and single _, starting with a letter"


def _generic(name: str) -> str | None:
    if _GENERIC.fullmatch(name):
        return None
    return "names are letters, digits and _ . : -, starting with a letter"


@dataclass(frozen=True, slots=True)
class Platform:
    name: str
    klass: str
    max_age: str | None
    # Top-level context fields this platform accepts raw; click ids filtered separately.
    context: tuple[str, ...]
    click_ids: tuple[str, ...]
    check_name: object  # Callable[[str], str | None]; `object` keeps the dataclass hashable

    def name_problem(self, name: str) -> str | None:
        check = self.check_name
        assert callable(check)
        result = check(name)
        return result if isinstance(result, str) else None


_ADS_CONTEXT = ("pageUrl", "ip", "userAgent")
_ALL_CONTEXT = ("pageUrl", "referrer", "ip", "userAgent")
_ALL_CLICK_IDS = (
    "fbc", "fbp", "gclid", "gbraid", "wbraid", "li_fat_id", "ttclid", "rdt_cid", "msclkid", "twclid",
)

PLATFORMS: MappingProxyType[str, Platform] = MappingProxyType(
    {
        p.name: p
        for p in (
            Platform("meta", "ads", "7d", _ADS_CONTEXT, ("fbc", "fbp"), _meta_like),
            # GA4 Measurement Protocol must carry no PII: no IP, no page URL.
            Platform("google", "ads", "72h", ("userAgent",), ("gclid", "gbraid", "wbraid"), _google),
            Platform("linkedin", "ads", "90d", (), ("li_fat_id",), _linkedin),
            Platform("tiktok", "ads", "7d", _ADS_CONTEXT, ("ttclid",), _meta_like),
            Platform("reddit", "ads", "7d", _ADS_CONTEXT, ("rdt_cid",), _reddit),
            Platform("microsoft", "ads", "7d", _ADS_CONTEXT, ("msclkid",), _generic),
            Platform("x", "ads", None, ("ip", "userAgent"), ("twclid",), _generic),
            Platform("hubspot", "crm", None, _ALL_CONTEXT, _ALL_CLICK_IDS, _hubspot),
            Platform("salesforce", "crm", None, _ALL_CONTEXT, _ALL_CLICK_IDS, _salesforce),
            Platform("warehouse", "warehouse", None, _ALL_CONTEXT, _ALL_CLICK_IDS, _generic),
            Platform("generic", "any", None, _ALL_CONTEXT, _ALL_CLICK_IDS, _generic),
        )
    }
)

# Which PII modes each destination class may use (DESIGN.md §5): ads never get raw PII.
PII_MODES: MappingProxyType[str, tuple[str, ...]] = MappingProxyType(
    {"ads": ("sha256",), "crm": ("raw", "sha256", "drop"), "warehouse": ("raw", "hmac", "drop")}
)
