"""The platform registry: one entry per destination platform eventyard knows.

Policy lint and compile read the class, name rules, window, context fields and click ids;
routing/pii.py reads the PII rules. Adding a platform is one entry here (and its page in
docs/platforms.md); an entry without PII rules fails at import.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from eventyard.platforms import names
from eventyard.platforms.model import Platform, build_registry, pii_rules

_ADS_CONTEXT = ("pageUrl", "ip", "userAgent")
_ALL_CONTEXT = ("pageUrl", "referrer", "ip", "userAgent")
_ALL_CLICK_IDS = (
    "fbc", "fbp", "gclid", "gbraid", "wbraid", "li_fat_id", "ttclid", "rdt_cid", "msclkid",
    "twclid",
)  # fmt: skip

# Match keys (docs/platforms.md, "Match keys"): one field alone, or IP and user agent
# together where the platform matches on the pair. Names and address parts alone are not
# keys: Google wants them with an address, Meta and TikTok only as extra signals.
_IP_AND_AGENT = ("ip", "userAgent")


def _one_of(*fields: str) -> tuple[tuple[str, ...], ...]:
    return tuple((f,) for f in fields)


# CRM, warehouse and generic destinations hash every identity field they receive (in their
# sha256 or hmac PII mode): email and phone as for X, names as for Meta, the rest trimmed.
GENERIC_PII = pii_rules(
    others="external_id", email="email_plain", phone="phone_e164", firstName="name",
    lastName="name",
)

PLATFORMS: Mapping[str, Platform] = build_registry([
    Platform(
        "meta", "ads", "7d", _ADS_CONTEXT, ("fbc", "fbp"), names.meta_like,
        pii_rules(
            email="email_plain", phone="phone_digits", firstName="name", lastName="name",
            city="city", state="state", zip="zip", country="country",
            externalId="external_id", dateOfBirth="dob", gender="gender",
        ),
        "https://developers.facebook.com/docs/marketing-api/conversions-api/parameters/customer-information-parameters",
        (*_one_of("email", "phone", "externalId", "fbc", "fbp"), _IP_AND_AGENT),
    ),
    # GA4 Measurement Protocol must carry no PII: no IP, no page URL. Google takes address
    # parts raw; ads records never carry raw PII, so they are not sent.
    Platform(
        "google", "ads", "72h", ("userAgent",), ("gclid", "gbraid", "wbraid"), names.google,
        pii_rules(email="email_google", phone="phone_e164", firstName="name", lastName="name"),
        "https://developers.google.com/google-ads/api/docs/conversions/upload-identifiers",
        _one_of("email", "phone", "gclid", "gbraid", "wbraid"),
    ),
    # LinkedIn's userInfo names are plain text, which ads records never carry: email only.
    Platform(
        "linkedin", "ads", "90d", (), ("li_fat_id",), names.linkedin,
        pii_rules(email="email_plain"),
        "https://learn.microsoft.com/en-us/linkedin/marketing/integrations/ads-reporting/conversions-api",
        _one_of("email", "li_fat_id"),
    ),
    Platform(
        "tiktok", "ads", "7d", _ADS_CONTEXT, ("ttclid",), names.meta_like,
        pii_rules(
            email="email_plain", phone="phone_e164", externalId="external_id_lower",
            firstName="name", lastName="name", zip="zip",
        ),
        "https://ads.tiktok.com/help/article/supported-standard-events",
        (*_one_of("email", "phone", "externalId", "ttclid"), _IP_AND_AGENT),
    ),
    Platform(
        "reddit", "ads", "7d", _ADS_CONTEXT, ("rdt_cid",), names.reddit,
        pii_rules(email="email_reddit", phone="phone_e164", externalId="external_id"),
        "https://ads-api.reddit.com/docs/v3/",
        (*_one_of("email", "phone", "externalId", "rdt_cid"), _IP_AND_AGENT),
    ),
    # Microsoft takes externalId raw, which ads records never carry.
    Platform(
        "microsoft", "ads", "7d", _ADS_CONTEXT, ("msclkid",), names.generic,
        pii_rules(email="email_reddit", phone="phone_e164"),
        "https://learn.microsoft.com/en-us/advertising/guides/uet-conversion-api-integration",
        (*_one_of("email", "phone", "msclkid"), _IP_AND_AGENT),
    ),
    Platform(
        "x", "ads", None, ("ip", "userAgent"), ("twclid",), names.generic,
        pii_rules(email="email_plain", phone="phone_e164"),
        "https://developer.x.com/en/docs/x-ads-api/measurement/web-conversions/conversions",
        (*_one_of("email", "phone", "twclid"), _IP_AND_AGENT),
    ),
    Platform(
        "hubspot", "crm", None, _ALL_CONTEXT, _ALL_CLICK_IDS, names.hubspot, GENERIC_PII,
        "https://developers.hubspot.com/docs/api-reference/legacy/events/send-event-data/guide",
    ),
    Platform(
        "salesforce", "crm", None, _ALL_CONTEXT, _ALL_CLICK_IDS, names.salesforce, GENERIC_PII,
        "https://developer.salesforce.com/docs/platform/platform-events/guide/platform-events-define-ui.html",
    ),
    Platform(
        "warehouse", "warehouse", None, _ALL_CONTEXT, _ALL_CLICK_IDS, names.generic, GENERIC_PII,
        None,
    ),
    Platform(
        "generic", "any", None, _ALL_CONTEXT, _ALL_CLICK_IDS, names.generic, GENERIC_PII,
        None,
    ),
])  # fmt: skip

# Which PII modes each destination class may use: ads never get raw PII.
PII_MODES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"ads": ("sha256",), "crm": ("raw", "sha256", "drop"), "warehouse": ("raw", "hmac", "drop")}
)
