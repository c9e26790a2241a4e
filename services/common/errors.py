"""The one error tree of Newswire.

NewswireError
├── ConfigError                 bad settings or environment (not retriable)
├── StackError                  a local server failed to start or answer (names component and log)
├── ArticleRejected             an input that is not a valid article (stable ``code``)
├── QueryError                  a search request that cannot be run (stable ``code``)
├── NotFound                    a requested resource does not exist
│   └── Gone                    it existed and was withdrawn for good (a killed article: 410)
├── Unauthorized                a missing or wrong API key
├── BatchAbandoned              the indexer gave a batch up unwritten: read again (retriable)
├── KafkaRefused                Kafka refused a request for good (not authorised, closed...)
│   └── RecordTooLarge          a record over the broker's size limit
├── BulkRefused                 Elasticsearch refused a bulk request whole (retriable unless
│                               its ``disposition`` is "split": then it is the records')
├── SearchTimeout               Elasticsearch did not answer in time (retriable)
└── BackendUnavailable          Kafka or Elasticsearch cannot be reached (retriable)
    ├── KafkaUnavailable
    ├── SearchUnavailable       Elasticsearch cannot be reached, has no index, or is failing
    │   ├── IndexMissing        the index or alias asked for does not exist (404)
    │   ├── SearchFailed        a 5xx with no better name (500): perhaps a record's doing
    │   └── SearchForbidden     Elasticsearch refuses this service's credentials (401, 403)
    └── SearchBusy              Elasticsearch answered but is overloaded (breaker, 429)

Foreign exceptions are converted at one table per foreign system, with ``raise ... from exc``
so callers handle one tree and the cause is never lost: ``services.common.es.RULES``
(Elasticsearch) and ``services.common.kafka.RULES`` (aiokafka, with OSError and timeouts).
Code that retries reads ``retriable``, never the foreign exception's class.
"""

from __future__ import annotations

from typing import Any


class NewswireError(Exception):
    """Base of every error Newswire raises on purpose."""

    code: str = "newswire_error"
    retriable: bool = False

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code

    def extensions(self) -> dict[str, Any]:
        """Extra members of this error's problem+json (RFC 9457 extensions): none by default."""
        return {}

    def during(self, what: str) -> NewswireError:
        """This error, its message prefixed with what was being done (for a boundary)."""
        self.message = f"{what}: {self.message}"
        self.args = (self.message,)
        return self


class ConfigError(NewswireError):
    """Settings or the environment make the requested operation impossible."""

    code = "config_error"


class StackError(NewswireError):
    """A local server of the stack failed; says which one and where its log is."""

    code = "stack_error"

    def __init__(self, component: str, message: str, *, log_file: str | None = None) -> None:
        hint = f" (see {log_file})" if log_file else ""
        super().__init__(f"{component}: {message}{hint}")
        self.component = component
        self.log_file = log_file


class ArticleRejected(NewswireError):
    """An input that cannot become an article; ``code`` is stable and machine-readable."""

    code = "rejected"

    def __init__(self, code: str, message: str, *, source: str = "") -> None:
        super().__init__(message, code=code)
        self.source = source

    def __reduce__(self) -> tuple[object, ...]:
        # Rejections cross process boundaries (parallel parsing): keep code and source.
        return (_rebuild_rejection, (self.code, self.message, self.source))


class QueryError(NewswireError):
    """A search request that cannot be run as given (malformed query, bad cursor...)."""

    code = "invalid_query"


class NotFound(NewswireError):
    """The requested resource does not exist."""

    code = "not_found"


class Gone(NotFound):
    """The resource was withdrawn for good (a killed article); says when."""

    code = "article_killed"

    def __init__(self, message: str, *, killed_at: str) -> None:
        super().__init__(message)
        self.killed_at = killed_at

    def extensions(self) -> dict[str, Any]:
        """The problem says when the article was killed."""
        return {"killed_at": self.killed_at}


class Unauthorized(NewswireError):
    """The request lacks a valid API key."""

    code = "unauthorized"


class BatchAbandoned(NewswireError):
    """A batch given up before Elasticsearch took all of it; it is read again, never skipped."""

    code = "batch_abandoned"
    retriable = True


class BulkRefused(NewswireError):
    """A bulk request refused whole; ``disposition`` says wait, retry a few times, or split."""

    code = "bulk_refused"

    def __init__(self, status: int | None, message: str, disposition: str) -> None:
        super().__init__(message)
        self.status = status
        self.disposition = disposition
        # Waiting is for the server's troubles; a split is for the records'.
        self.retriable = disposition != "split"


class KafkaRefused(NewswireError):
    """Kafka answered and refused the request; sending it again as it is cannot succeed."""

    code = "kafka_refused"


class RecordTooLarge(KafkaRefused):
    """A record over the broker's size limit; only a smaller record can pass."""

    code = "record_too_large"


class BackendUnavailable(NewswireError):
    """A backend server cannot be reached right now; trying again later may succeed."""

    code = "backend_unavailable"
    retriable = True


class KafkaUnavailable(BackendUnavailable):
    """Kafka cannot be reached or refused the request for a transient reason."""

    code = "kafka_unavailable"


class SearchUnavailable(BackendUnavailable):
    """Elasticsearch cannot be reached (connection refused, DNS, reset) or has no index."""

    code = "search_unavailable"


class IndexMissing(SearchUnavailable):
    """Elasticsearch answers, but the index asked for does not exist (yet): a 404."""


class SearchFailed(SearchUnavailable):
    """Elasticsearch failed the request (a 500) and names no cause: its trouble or a record's."""


class SearchForbidden(SearchUnavailable):
    """Elasticsearch refuses this service's credentials: nothing the request can mend."""


class SearchBusy(BackendUnavailable):
    """Elasticsearch answered but refused the work for now (circuit breaker, full queues)."""

    code = "search_busy"


class SearchTimeout(NewswireError):
    """Elasticsearch did not finish the request within the search timeout."""

    code = "search_timeout"
    retriable = True


def _rebuild_rejection(code: str, message: str, source: str) -> ArticleRejected:
    return ArticleRejected(code, message, source=source)
