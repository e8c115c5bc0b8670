"""Event-name rules of each platform: a check returns why a name is refused, or None.

The lists and limits are the platforms' own (docs/platforms.md cites each page).
"""

from __future__ import annotations

import re

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


def meta_like(name: str) -> str | None:
    if _CUSTOM_NAME_40.fullmatch(name):
        return None
    return "must be letters, digits and _, start with a letter, at most 40 characters"


def google(name: str) -> str | None:
    if not _CUSTOM_NAME_40.fullmatch(name):
        return "GA4 names are letters, digits and _, start with a letter, at most 40 characters"
    if name in _GA4_RESERVED or name.startswith(_GA4_RESERVED_PREFIXES):
        return "is a name GA4 reserves"
    return None


def linkedin(name: str) -> str | None:
    if name in _LINKEDIN_TYPES:
        return None
    return "LinkedIn takes a conversion rule type (e.g. SIGN_UP, LEAD, PURCHASE), not a free name"


def reddit(name: str) -> str | None:
    if name in _REDDIT_TYPES:
        return None
    if name.startswith("CUSTOM:") and 0 < len(name) - 7 <= 64:
        return None
    return "Reddit takes a v3 tracking type (e.g. SIGN_UP) or CUSTOM:<name up to 64 chars>"


def hubspot(name: str) -> str | None:
    if _HUBSPOT.fullmatch(name):
        return None
    return "HubSpot internal names are lowercase letters, digits and _, at most 50 characters"


def salesforce(name: str) -> str | None:
    if _SALESFORCE.fullmatch(name) and "__" not in name and not name.endswith("_"):
        return None
    return "Salesforce names are letters, digits and single _, starting with a letter"


def generic(name: str) -> str | None:
    if _GENERIC.fullmatch(name):
        return None
    return "names are letters, digits and _ . : -, starting with a letter"
