"""Saved searches (alerts): what a user saves, what the matcher emits, how a webhook is signed.

The API stores alerts and streams their events; the alerts service matches new articles
against them and delivers webhooks. Both sides read this contract.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import date
from typing import Any, Final, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from services.common.article import UtcDatetime

EventKind = Literal["match", "update", "removal"]
# Why a matched article left an alert: killed, held back, or changed so it no longer matches.
RemovalReason = Literal["killed", "withheld", "no_longer_matches"]
SIGNATURE_HEADER: Final = "X-Newswire-Signature-256"
DELIVERY_HEADER: Final = "X-Newswire-Delivery"
EVENT_HEADER: Final = "X-Newswire-Event"
ALERT_ID_PATTERN: Final = r"^[0-9a-f]{20}$"


class AlertSpec(BaseModel):
    """A saved search: the query and filters of ``/v1/search``, and where to deliver."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str | None = Field(default=None, max_length=200, description="A label for people.")
    q: str = Field(default="", max_length=2000, description="The query, as /v1/search takes it.")
    search_in: str = Field(default="title,summary,body", max_length=100)
    category: list[str] = Field(default_factory=list, max_length=50)
    from_: date | None = Field(default=None, alias="from", description="Published on or after.")
    to: date | None = Field(default=None, description="Published on or before.")
    handle: list[str] = Field(default_factory=list, max_length=50)
    has_tweets: bool | None = None
    webhook_url: AnyHttpUrl | None = Field(
        default=None, description="Each event is POSTed here, signed with the alert's secret."
    )

    @field_validator("webhook_url")
    @classmethod
    def _plain_http(cls, url: AnyHttpUrl | None) -> AnyHttpUrl | None:
        if url is not None and len(str(url)) > 2048:
            raise ValueError("the webhook URL is over 2048 characters")
        return url


class Alert(AlertSpec):
    """A stored saved search."""

    id: str = Field(pattern=ALERT_ID_PATTERN)
    created_at: UtcDatetime
    secret: str | None = Field(default=None, description="Signs webhook bodies; shown once.")

    def public(self) -> dict[str, Any]:
        """The alert as the API shows it after creation: never its secret."""
        shown = self.model_dump(mode="json", by_alias=True, exclude={"secret"})
        shown["has_webhook"] = self.webhook_url is not None
        return shown


class MatchedArticle(BaseModel):
    """What an event says of its article (enough for a notification; fetch it for the rest)."""

    model_config = ConfigDict(extra="ignore")

    id: str
    version: int
    title: str | None = None
    category: str | None = None
    published_date: str | None = None
    updated_at: str | None = None
    summary: str | None = None


class AlertEvent(BaseModel):
    """One thing the matcher tells an alert: a new match, an update of one, or its removal."""

    model_config = ConfigDict(extra="ignore")

    alert_id: str
    kind: EventKind
    article: MatchedArticle
    reason: RemovalReason | None = None
    ingested_at: UtcDatetime | None = Field(default=None, description="When it entered Newswire.")
    searchable_at: UtcDatetime = Field(description="When the matcher saw it searchable.")
    emitted_at: UtcDatetime

    @property
    def event_id(self) -> str:
        """Stable across redeliveries: the webhook's delivery id."""
        return event_id(self.alert_id, self.article.id, self.article.version, self.kind)


def event_id(alert_id: str, article_id: str, version: int, kind: str) -> str:
    """The id of an event, the same however often it is delivered."""
    raw = f"{alert_id}\x1f{article_id}\x1f{version}\x1f{kind}".encode()
    return hashlib.sha256(raw).hexdigest()[:32]


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: ``sha256=`` and the hex HMAC-SHA256 of the body."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(secret: str, body: bytes, header: str) -> bool:
    """Whether ``header`` signs ``body`` with ``secret`` (constant-time compare)."""
    return hmac.compare_digest(sign(secret, body), header)


def new_alert_id(seed: bytes) -> str:
    """An alert id from random bytes: 20 hex digits."""
    return hashlib.sha256(seed).hexdigest()[:20]
