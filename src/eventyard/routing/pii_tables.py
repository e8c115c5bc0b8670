"""Lookup tables for PII normalisation (docs/pii.md): US states and countries.

Kept apart from `pii.py` so the hot-path module stays short. Keys are *folded*: NFC,
lowercase, letters only (see `pii._fold`), so "New  York", "new-york" and "NEW YORK" all
hit the same entry. Tables are plain data, built once at import.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# ANSI/FIPS two-letter codes Meta expects for `st` (docs/pii.md). Territories are included
# because US-country events from them carry these codes too.
_US_STATES: dict[str, str] = {
    "alabama": "al", "alaska": "ak", "arizona": "az", "arkansas": "ar",
    "california": "ca", "colorado": "co", "connecticut": "ct", "delaware": "de",
    "florida": "fl", "georgia": "ga", "hawaii": "hi", "idaho": "id", "illinois": "il",
    "indiana": "in", "iowa": "ia", "kansas": "ks", "kentucky": "ky", "louisiana": "la",
    "maine": "me", "maryland": "md", "massachusetts": "ma", "michigan": "mi",
    "minnesota": "mn", "mississippi": "ms", "missouri": "mo", "montana": "mt",
    "nebraska": "ne", "nevada": "nv", "newhampshire": "nh", "newjersey": "nj",
    "newmexico": "nm", "newyork": "ny", "northcarolina": "nc", "northdakota": "nd",
    "ohio": "oh", "oklahoma": "ok", "oregon": "or", "pennsylvania": "pa",
    "rhodeisland": "ri", "southcarolina": "sc", "southdakota": "sd", "tennessee": "tn",
    "texas": "tx", "utah": "ut", "vermont": "vt", "virginia": "va", "washington": "wa",
    "westvirginia": "wv", "wisconsin": "wi", "wyoming": "wy",
    "districtofcolumbia": "dc", "washingtondc": "dc",
    "americansamoa": "as", "guam": "gu", "northernmarianaislands": "mp",
    "puertorico": "pr", "usvirginislands": "vi", "virginislands": "vi",
    "unitedstatesvirginislands": "vi", "unitedstatesminoroutlyingislands": "um",
    # The ʻokina (U+02BB) is a letter (Lm), so folding keeps it.
    "hawaiʻi": "hi",
}  # fmt: skip

US_STATE_BY_NAME: Mapping[str, str] = MappingProxyType(_US_STATES)
US_STATE_CODES: frozenset[str] = frozenset(_US_STATES.values())

# ISO 3166-1 alpha-2, all officially assigned codes. A bare code is accepted only if it
# is in this set, so a typo like "XX" is omitted rather than hashed.
COUNTRY_CODES: frozenset[str] = frozenset(
    """
    ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bl bm bn
    bo bq br bs bt bv bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz
    de dj dk dm do dz ec ee eg eh er es et fi fj fk fm fo fr ga gb gd ge gf gg gh gi gl
    gm gn gp gq gr gs gt gu gw gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm
    jo jp ke kg kh ki km kn kp kr kw ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me
    mf mg mh mk ml mm mn mo mp mq mr ms mt mu mv mw mx my mz na nc ne nf ng ni nl no np
    nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt pw py qa re ro rs ru rw sa sb sc sd
    se sg sh si sj sk sl sm sn so sr ss st sv sx sy sz tc td tf tg th tj tk tl tm tn to
    tr tt tv tw tz ua ug um us uy uz va vc ve vg vi vn vu wf ws ye yt za zm zw
    """.split()  # noqa: SIM905 (249 codes: as a list literal the table would be 5x longer)
)

# English names, common aliases and alpha-3 codes for the countries our events come from.
# Deliberately compact (the brief allows it): an unlisted name is omitted, never guessed.
_COUNTRY_NAMES: dict[str, tuple[str, ...]] = {
    "us": ("unitedstates", "unitedstatesofamerica", "usa", "america"),
    "gb": ("unitedkingdom", "greatbritain", "britain", "uk", "gbr", "england", "scotland",
           "wales", "northernireland", "unitedkingdomofgreatbritainandnorthernireland"),
    "ca": ("canada", "can"), "mx": ("mexico", "mex"), "br": ("brazil", "bra"),
    "ar": ("argentina", "arg"), "cl": ("chile", "chl"), "co": ("colombia", "col"),
    "pe": ("peru", "per"), "au": ("australia", "aus"), "nz": ("newzealand", "nzl"),
    "jp": ("japan", "jpn"), "kr": ("southkorea", "korea", "republicofkorea", "kor"),
    "cn": ("china", "chn", "peoplesrepublicofchina"), "hk": ("hongkong", "hkg"),
    "tw": ("taiwan", "twn"), "sg": ("singapore", "sgp"), "in": ("india", "ind"),
    "id": ("indonesia", "idn"), "my": ("malaysia", "mys"), "ph": ("philippines", "phl"),
    "th": ("thailand", "tha"), "vn": ("vietnam", "vnm"), "pk": ("pakistan", "pak"),
    "bd": ("bangladesh", "bgd"), "il": ("israel", "isr"),
    "ae": ("unitedarabemirates", "uae", "are"), "sa": ("saudiarabia", "sau"),
    "tr": ("turkey", "turkiye", "türkiye", "tur"), "eg": ("egypt", "egy"),
    "za": ("southafrica", "zaf"), "ng": ("nigeria", "nga"), "ke": ("kenya", "ken"),
    "ma": ("morocco", "mar"), "ru": ("russia", "russianfederation", "rus"),
    "ua": ("ukraine", "ukr"), "de": ("germany", "deutschland", "deu"),
    "fr": ("france", "fra"), "es": ("spain", "españa", "esp"), "it": ("italy", "ita"),
    "pt": ("portugal", "prt"), "nl": ("netherlands", "thenetherlands", "holland", "nld"),
    "be": ("belgium", "bel"), "lu": ("luxembourg", "lux"), "ie": ("ireland", "irl"),
    "at": ("austria", "aut"), "ch": ("switzerland", "che"), "li": ("liechtenstein", "lie"),
    "dk": ("denmark", "dnk"), "se": ("sweden", "swe"), "no": ("norway", "nor"),
    "fi": ("finland", "fin"), "is": ("iceland", "isl"), "pl": ("poland", "pol"),
    "cz": ("czechia", "czechrepublic", "cze"), "sk": ("slovakia", "svk"),
    "hu": ("hungary", "hun"), "si": ("slovenia", "svn"), "hr": ("croatia", "hrv"),
    "ro": ("romania", "rou"), "bg": ("bulgaria", "bgr"), "gr": ("greece", "grc"),
    "cy": ("cyprus", "cyp"), "mt": ("malta", "mlt"), "ee": ("estonia", "est"),
    "lv": ("latvia", "lva"), "lt": ("lithuania", "ltu"), "rs": ("serbia", "srb"),
}  # fmt: skip

COUNTRY_BY_NAME: Mapping[str, str] = MappingProxyType(
    {name: code for code, names in _COUNTRY_NAMES.items() for name in names}
)
