"""The ingest edge's pure parts: key parsing and matching, token buckets, the Segment
mapping and the cheap checks' agreement with the contract."""

from __future__ import annotations

import orjson
import pytest

from eventyard.contract.codec import decode
from eventyard.contract.deadletter import DeadLetter
from eventyard.errors import WriteKeySpecError as KeySpecError
from eventyard.ingest.admission import IDENTITY_FIELDS, Admitted, admit
from eventyard.ingest.auth import KeyRing, parse_keys
from eventyard.ingest.ratelimit import TokenBuckets
from eventyard.ingest.segment import EVENT_NAMES, Ignored, to_event
from eventyard.ingest.settings import IngestSettings
from eventyard.taxonomy import TAXONOMY

NOW = 1_790_000_000_000


def test_keys_parse_kinds_comments_and_lines() -> None:
    keys = parse_keys("srv-1, web-1:browser\n# a comment\nsrv-2:server  # trailing\n")
    assert [(k.secret, k.kind) for k in keys] == [
        (b"srv-1", "server"), (b"web-1", "browser"), (b"srv-2", "server")
    ]
    ring = KeyRing(keys)
    assert ring.match("web-1") is keys[1]
    assert ring.match("web-2") is None and ring.match("") is None


@pytest.mark.parametrize("spec", ["secret-xyz:admin", "secret-xyz more", ":browser"])
def test_bad_key_entries_are_named_without_the_key(spec: str) -> None:
    with pytest.raises(KeySpecError) as info:
        parse_keys(f"good,{spec}")
    assert "entry 2" in str(info.value)
    assert "secret-xyz" not in str(info.value)


def test_keys_file_is_read_when_the_variable_is_unset(tmp_path: object) -> None:
    from pathlib import Path

    path = Path(str(tmp_path)) / "keys"
    path.write_text("file-key:browser\n")
    s = IngestSettings(keys_file=path)
    assert s.keys is not None and "file-key" not in repr(s)
    assert parse_keys(s.keys.get_secret_value())[0].kind == "browser"


def test_token_bucket_refills_and_says_when() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=2.0, burst=3, clock=lambda: now[0])
    assert [buckets.take("ip") for _ in range(3)] == [0, 0, 0]
    assert buckets.take("ip") == 1  # half a second to the next token: Retry-After 1
    assert buckets.take("other") == 0  # buckets are per client
    now[0] += 0.5
    assert buckets.take("ip") == 0
    slow = TokenBuckets(rate=0.1, burst=1, clock=lambda: now[0])
    assert slow.take("k") == 0 and slow.take("k") == 10


def test_token_buckets_stay_bounded() -> None:
    now = [0.0]
    buckets = TokenBuckets(rate=1.0, burst=2, max_buckets=100, clock=lambda: now[0])
    for i in range(1000):
        buckets.take(i)
        now[0] += 0.001
    assert len(buckets) <= 101


def test_identity_fields_are_the_contracts() -> None:
    # Each field alone satisfies the contract's identity rule; none at all fails it.
    for f in IDENTITY_FIELDS:
        value = "a@b.co" if f == "email" else "id-1"
        doc = {"event": "SignUp", "eventId": "e-1", f: value}
        assert not isinstance(decode(orjson.dumps(doc), NOW, NOW), DeadLetter), f
    dl = decode(b'{"event": "SignUp", "eventId": "e-1"}', NOW, NOW)
    assert isinstance(dl, DeadLetter) and dl.reason == "contract.identity.missing"


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b'{"event": "SignUp", "userId": "u"}', "contract.eventId.missing"),
        (b'{"event": "SignUp", "eventId": 5, "userId": "u"}', "contract.eventId.type"),
        (b'{"event": "SignUp", "eventId": "a b", "userId": "u"}', "contract.eventId.format"),
        (b'{"event": "SignUp", "eventId": "e"}', "contract.identity.missing"),
        (b'{"event": "SignUp", "eventId": "e", "userId": ""}', "contract.identity.missing"),
        (b"[1]", "decode.not_object"),
        (b"{", "decode.invalid_json"),
        (b'{"event": "SignUp", "eventId": "e", "userId": "u", "p": "' + b"x" * 300 + b'"}',
         "size.too_large"),
    ],
)
def test_cheap_checks_give_the_contracts_reason(value: bytes, reason: str) -> None:
    result = admit(value, NOW, max_bytes=256)
    assert isinstance(result, DeadLetter) and result.reason == reason
    assert result == decode(value, NOW, NOW, 256)  # the worker's own answer, word for word


def test_cheap_checks_leave_the_rest_to_the_worker() -> None:
    # Unknown event names, bad emails, future timestamps: the worker's to judge.
    value = b'{"event": "NoSuchThing", "eventId": "e-2", "userId": "u", "email": "nope"}'
    assert admit(value, NOW, 65536) == Admitted("e-2")


def test_segment_track_maps_onto_the_contract() -> None:
    msg = {
        "type": "track", "event": "Order Completed", "messageId": "m-1", "userId": "u-1",
        "anonymousId": "a-1", "timestamp": "2026-01-01T00:00:00.000Z",
        "properties": {"revenue": 10, "currency": "EUR", "sku": "x"},
        "context": {
            "ip": "203.0.113.1", "userAgent": "UA",
            "page": {"url": "https://x.example/p", "referrer": ""},
            "traits": {"email": "a@b.co", "first_name": "Ada",
                       "address": {"city": "Paris", "country": "France", "postalCode": "75"}},
            "library": {"name": "analytics-python"},
        },
        "integrations": {"All": True},
    }
    assert to_event(msg) == {
        "event": "Purchase", "eventId": "m-1", "timestamp": "2026-01-01T00:00:00.000Z",
        "source": "server", "userId": "u-1", "anonymousId": "a-1", "email": "a@b.co",
        "firstName": "Ada", "city": "Paris", "zip": "75", "pageUrl": "https://x.example/p",
        "ip": "203.0.113.1", "userAgent": "UA", "value": 10, "currency": "EUR",
        "properties": {"revenue": 10, "currency": "EUR", "sku": "x"},
    }
    # The mapped event passes the contract whole.
    assert not isinstance(decode(orjson.dumps(to_event(msg)), NOW, NOW), DeadLetter)


def test_segment_page_other_calls_and_sources() -> None:
    page = to_event({"messageId": "p-1", "anonymousId": "a", "name": "Pricing",
                     "properties": {"url": "https://x.example/pricing"},
                     "context": {"library": {"name": "analytics.js"}}}, call="page")
    assert page["event"] == "PageView" and page["pageUrl"] == "https://x.example/pricing"
    assert page["source"] == "browser"
    mobile = to_event({"event": "SignUp", "context": {"library": {"name": "analytics-ios"}}})
    assert mobile["source"] == "mobile"
    for kind in ("identify", "screen", "group", "alias"):
        ignored = to_event({"type": kind, "messageId": "i"})
        assert isinstance(ignored, Ignored) and ignored.type == kind and ignored.message
    assert isinstance(to_event({"type": "bogus"}), Ignored)
    assert to_event(7) == 7  # left for the contract's checks to refuse
    # Batch-level context applies to every call, the call's own context wins.
    ev = to_event({"event": "SignUp", "context": {"ip": "10.0.0.2"}},
                  {"ip": "10.0.0.1", "userAgent": "UA"})
    assert (ev["ip"], ev["userAgent"]) == ("10.0.0.2", "UA")


def test_segment_names_map_to_canonical_events() -> None:
    assert set(EVENT_NAMES.values()) <= set(TAXONOMY)
