"""A change of an article's publication status (a kill, a hold): the topic's second event kind.

Articles and status events share the article topic, keyed by the article id, so a kill is
ordered with the versions it ends. Each carries an external version: a kill's is above every
article version (nothing published later brings the story back, and a kill that arrives
before its article still wins); a hold's is its own time, so a later version releases it.
"""

from __future__ import annotations

from typing import Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from services.common.article import SCHEMA_VERSION, VERSION_OFFSET_MS, UtcDatetime, epoch_ms

# Above any article version (year 9999 is about 3.2e14) and below Elasticsearch's 2^63 - 1.
KILL_VERSION: Final = 2**62
Status = Literal["canceled", "withheld"]


class StatusEvent(BaseModel):
    """An article killed (``canceled``) or held back (``withheld``) from a moment on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[2] = Field(default=SCHEMA_VERSION, description="Contract version.")
    event: Status = Field(description="canceled: withdrawn for good; withheld: held back.")
    id: str = Field(pattern=r"^[0-9a-f]{16}$", description="The article's id.")
    at: UtcDatetime = Field(description="When the status was set (UTC).")
    uri: str | None = Field(default=None, max_length=2048, description="The provider's uri.")
    reason: str | None = Field(default=None, max_length=500, description="Why, if given.")
    source: str = Field(description="Where the event came from: 'http', 'ninjs'...")

    @property
    def version(self) -> int:
        """The external version this status is written under (see the module docstring)."""
        if self.event == "canceled":
            return KILL_VERSION
        return epoch_ms(self.at.date(), self.at) + VERSION_OFFSET_MS

    @property
    def content_hash(self) -> str:
        """The same for every kill of one article: a redelivered or repeated kill is no rival."""
        return "sha256:" + ("0" if self.event == "canceled" else "1") * 64
