"""The dead-letter contract: the original bytes, plus why and where they were rejected."""

from __future__ import annotations

from dataclasses import dataclass, replace

from services.common.clock import utc_now_iso

# Header names on every dead letter; the value of the record is the original payload, untouched.
H_CODE = "newswire.error.code"
H_MESSAGE = "newswire.error.message"
H_SOURCE = "newswire.source"
H_STAGE = "newswire.stage"
H_FAILED_AT = "newswire.failed_at"
H_TRUNCATED_FROM = "newswire.payload.truncated_from"
# Only on a cut payload (an oversized upload): the size announced and the bytes that arrived.
H_SIZE_DECLARED = "newswire.size.declared"
H_SIZE_RECEIVED = "newswire.size.received"


@dataclass(frozen=True)
class DeadLetter:
    """One rejected input, ready to be produced to the dead-letter topic."""

    payload: bytes
    code: str
    message: str
    source: str
    stage: str  # "ingest" or "indexer"
    key: bytes | None = None
    truncated_from: int | None = None  # the payload's size before it was cut to fit Kafka
    size_declared: int | None = None
    size_received: int | None = None

    def headers(self) -> list[tuple[str, bytes]]:
        """Kafka headers carrying the reason; messages are cut to stay well under limits."""
        headers = [
            (H_CODE, self.code.encode()),
            (H_MESSAGE, self.message[:2000].encode()),
            (H_SOURCE, self.source[:1000].encode()),
            (H_STAGE, self.stage.encode()),
            (H_FAILED_AT, utc_now_iso().encode()),
        ]
        for name, size in (
            (H_SIZE_DECLARED, self.size_declared),
            (H_SIZE_RECEIVED, self.size_received),
        ):
            if size is not None:
                headers.append((name, str(size).encode()))
        if self.truncated_from is not None:
            headers.append((H_TRUNCATED_FROM, str(self.truncated_from).encode()))
        return headers


# Room left for the key, the headers and the record's framing.
_HEADROOM = 16 * 1024


def fit_for_kafka(letter: DeadLetter, max_record_bytes: int) -> DeadLetter:
    """The letter with its payload cut to fit one record, the original size in a header.

    Only for a letter the broker refused as too large: the original record stays in its own
    topic (``source`` says where), so what is cut is still there to be read.
    """
    room = max(1024, max_record_bytes - _HEADROOM)
    if len(letter.payload) <= room:
        return letter
    return replace(letter, payload=letter.payload[:room], truncated_from=len(letter.payload))


def decode_headers(
    headers: list[tuple[str, bytes]] | tuple[tuple[str, bytes], ...],
) -> dict[str, str]:
    """Headers of a consumed record as a str dict (for operators and tests)."""
    return {name: value.decode("utf-8", "replace") for name, value in headers}
