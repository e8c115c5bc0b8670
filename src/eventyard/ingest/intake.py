"""One request's events → records for the raw topic and the dead-letter topic, plus the
per-event answer. No I/O: routes.py ships the records and answers.

Edge-rejected events are written to the dead-letter topic, in the same acknowledged produce
round as the accepted ones, with the reason and detail headers the worker uses; so an
operator finds every refused event where the worker's refusals are, and nothing a client
sent vanishes, even when the client ignores the answer. docs/ingest.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from eventyard.contract.deadletter import DeadLetter, dead_letter_headers
from eventyard.contract.headers import H_SOURCE_TIMESTAMP, H_SOURCE_TOPIC
from eventyard.ingest.admission import Admitted, admit
from eventyard.ingest.segment import Ignored
from eventyard.kafka.producer import Send
from eventyard.settings import Settings

H_INGEST = "eventyard-ingest"  # the endpoint a dead letter came in through


@dataclass(slots=True)
class Intake:
    settings: Settings
    endpoint: str
    now_ms: int
    sends: list[Send] = field(default_factory=list)
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    ignored: list[dict[str, Any]] = field(default_factory=list)

    def add(self, index: int, item: Any, value: bytes | None = None) -> None:
        """`item`: the parsed event; `value`: its bytes when the client's own can be kept."""
        if value is None:
            value = orjson.dumps(item)
        s = self.settings
        result = admit(value, self.now_ms, s.max_event_bytes)
        if isinstance(result, Admitted):
            key = result.event_id.encode()
            self.sends.append(Send(s.topic_raw, value, key, []))
            self.accepted += 1
            return
        event_id = item.get("eventId") if isinstance(item, dict) else None
        event_id = event_id[:128] if isinstance(event_id, str) else None
        self.reject(index, event_id, result, value)

    def reject(self, index: int, event_id: str | None, dl: DeadLetter, value: bytes) -> None:
        source = [
            (H_SOURCE_TOPIC, self.settings.topic_raw.encode()),
            (H_SOURCE_TIMESTAMP, str(self.now_ms).encode()),
            (H_INGEST, self.endpoint.encode()),
        ]
        key = event_id.encode() if event_id else None
        self.sends.append(
            Send(self.settings.topic_dlq, value, key, dead_letter_headers(dl, source))
        )
        self.rejected.append(
            {"index": index, "eventId": event_id, "reason": dl.reason, "detail": dl.detail}
        )

    def ignore(self, index: int, message: Any, why: Ignored) -> None:
        message_id = message.get("messageId") if isinstance(message, dict) else None
        self.ignored.append({
            "index": index,
            "messageId": message_id[:128] if isinstance(message_id, str) else None,
            "type": why.type,
            "message": why.message,
        })

    def answer(self) -> dict[str, Any]:
        out: dict[str, Any] = {"accepted": self.accepted, "rejected": self.rejected}
        if self.ignored:
            out["ignored"] = self.ignored
        return out

    @property
    def status(self) -> int:
        # 400 only when events came and none was accepted; a mixed batch is a 200 whose
        # body lists each refusal.
        return 400 if self.rejected and not self.accepted else 200
