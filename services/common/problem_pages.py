"""The documentation of every problem code: one page per code, which problem ``type`` names."""

from __future__ import annotations

import html
from dataclasses import dataclass

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from services.common.errors import NotFound

PAGES_PATH = "/problems"


@dataclass(frozen=True)
class CodePage:
    """What one code means: its HTTP status (None: never an HTTP answer), meaning, remedy."""

    status: int | None
    title: str
    meaning: str
    action: str


_QUERY_FIX = "Correct the query and send it again; the detail names the character."
_RETRY = "Retry after the Retry-After seconds; it passes when the backend is back."
_FIX_INPUT = "Correct the input and send it again; the detail says what is wrong."
_DLQ = "Find it in the dead-letter topic (GET /v1/pipeline/dead-letters), fix, re-ingest."

CODES: dict[str, CodePage] = {
    # The query API: search requests.
    "invalid_query": CodePage(400, "Invalid query", "The search query cannot be run.", _QUERY_FIX),
    "unterminated_phrase": CodePage(
        400, "Unterminated phrase", "A phrase is missing its closing quote.", _QUERY_FIX
    ),
    "unbalanced_parentheses": CodePage(
        400, "Unbalanced parentheses", "A '(' is never closed, or a ')' opens none.", _QUERY_FIX
    ),
    "dangling_operator": CodePage(
        400, "Dangling operator", "AND or OR lacks a term on one side.", _QUERY_FIX
    ),
    "too_deep": CodePage(
        400, "Query nests too deeply", "Operators or parentheses nest too deeply.", _QUERY_FIX
    ),
    "empty_group": CodePage(400, "Empty group", "A pair of parentheses is empty.", _QUERY_FIX),
    "empty_phrase": CodePage(400, "Empty phrase", "A phrase has no words.", _QUERY_FIX),
    "too_many_terms": CodePage(
        400, "Too many terms", "The query has more terms than allowed.", "Use fewer terms."
    ),
    "short_prefix": CodePage(
        400, "Prefix too short", "A prefix* needs at least 2 characters.", "Lengthen the prefix."
    ),
    "too_many_prefixes": CodePage(
        400, "Too many prefixes", "The query has more prefix* terms than allowed.", _QUERY_FIX
    ),
    "query_too_long": CodePage(
        400, "Query too long", "The query is longer than allowed.", "Send a shorter query."
    ),
    "invalid_cursor": CodePage(
        400,
        "Invalid cursor",
        "The cursor is malformed or belongs to another search.",
        "Start the search again without a cursor and follow next_cursor.",
    ),
    "page_too_deep": CodePage(
        400,
        "Page too deep",
        "Offset paging stops at 10,000 results.",
        "Page on with the cursor (next_cursor) instead of an offset.",
    ),
    "invalid_search_in": CodePage(
        400, "Invalid search_in", "search_in names a field that is not searched.", _FIX_INPUT
    ),
    "search_rejected": CodePage(
        400, "Search refused", "Elasticsearch refused the search as built.", _QUERY_FIX
    ),
    "invalid_request": CodePage(
        422, "Invalid request", "A parameter failed validation (see errors).", _FIX_INPUT
    ),
    "not_found": CodePage(404, "Not found", "No such resource (or a malformed id).", _FIX_INPUT),
    "alert_not_found": CodePage(
        404,
        "Alert not found",
        "No saved search has this id (it was never made, or it was deleted).",
        "List the saved searches with GET /v1/alerts, or make one with POST /v1/alerts.",
    ),
    "too_many_alerts": CodePage(
        400,
        "Too many alerts",
        "This deployment holds as many saved searches as NEWSWIRE_ALERTS_MAX allows.",
        "Delete saved searches no longer needed, or raise NEWSWIRE_ALERTS_MAX.",
    ),
    "webhook_not_allowed": CodePage(
        400,
        "Webhook not allowed",
        "The webhook URL is not http(s), its host does not resolve, or it resolves to a "
        "loopback, link-local or private address, which Newswire does not send requests to.",
        "Give a public http(s) URL; a deployment that must reach private receivers sets "
        "NEWSWIRE_WEBHOOK_PRIVATE_TARGETS=true.",
    ),
    "invalid_event_id": CodePage(
        400,
        "Invalid event id",
        "Last-Event-ID (or `after`) is not an id this alert's stream sent (<partition>-<offset>).",
        "Reconnect without it to start from now, or send the id of the last event received.",
    ),
    "article_killed": CodePage(
        410,
        "Article killed",
        "The article was withdrawn for good (a kill); `killed_at` says when.",
        "Remove every copy you hold: a killed story must not be shown.",
    ),
    "method_not_allowed": CodePage(
        405, "Method not allowed", "The path exists, not with this method.", "Use GET (or POST)."
    ),
    "http_error": CodePage(
        None, "HTTP error", "Another HTTP error; its status says which.", "See the status."
    ),
    "unauthorized": CodePage(
        401,
        "Unauthorized",
        "The Authorization header is missing or holds a wrong key.",
        "Send 'Authorization: Bearer <key>' with the right key.",
    ),
    "operator_key_unset": CodePage(
        401,
        "Operator key not set",
        "The operator endpoints are off: NEWSWIRE_OPERATOR_KEY is not set.",
        "Set NEWSWIRE_OPERATOR_KEY for the API and send it as a Bearer key.",
    ),
    "search_timeout": CodePage(
        504,
        "Search timeout",
        "Elasticsearch did not finish within NEWSWIRE_SEARCH_TIMEOUT_S.",
        "Narrow the query or retry later.",
    ),
    "search_unavailable": CodePage(503, "Search unavailable", "Elasticsearch is away.", _RETRY),
    "search_busy": CodePage(
        503, "Search busy", "Elasticsearch is overloaded, or too many trends run.", _RETRY
    ),
    "kafka_unavailable": CodePage(503, "Kafka unavailable", "Kafka does not answer.", _RETRY),
    "kafka_refused": CodePage(
        502,
        "Kafka refused",
        "Kafka answered and refused the request (for example: not authorised on the topic).",
        "Check the topic's configuration and the broker's logs; sending it again will not help.",
    ),
    "record_too_large": CodePage(
        413,
        "Record too large",
        "The record is over the broker's size limit (the topic's max.message.bytes).",
        "Split or shorten the article; the limit follows NEWSWIRE_MAX_ARTICLE_BYTES.",
    ),
    "backend_unavailable": CodePage(
        503, "Backend unavailable", "A backend server cannot be reached.", _RETRY
    ),
    "internal_error": CodePage(
        500,
        "Internal error",
        "A bug of ours; it was logged (and the input dead-lettered).",
        "Report it with the time and the instance; the request itself was not wrong.",
    ),
    # The ingest service's HTTP refusals.
    "unsupported_media_type": CodePage(
        415, "Unsupported media type", "The body is neither text/plain nor JSON.", _FIX_INPUT
    ),
    "invalid_trace_id": CodePage(
        400, "Invalid trace id", "The trace header is not a valid trace id.", _FIX_INPUT
    ),
    "ingest_busy": CodePage(503, "Ingest busy", "Too many uploads are in flight.", _RETRY),
    "body_timeout": CodePage(
        408, "Request timeout", "The body did not arrive in time.", "Send the body faster."
    ),
    "client_disconnected": CodePage(
        400, "Client disconnected", "The client left before its body arrived.", "Send it again."
    ),
    "missing_body": CodePage(400, "Missing body", "The request has no body.", _FIX_INPUT),
    # Inputs that are not articles (ingest; the indexer for the shared ones).
    "rejected": CodePage(422, "Rejected", "The input is not a valid article.", _FIX_INPUT),
    "too_large": CodePage(
        413,
        "Too large",
        "The input is over NEWSWIRE_MAX_ARTICLE_BYTES (or the index refused its size).",
        "Split or shorten the article.",
    ),
    "undecodable": CodePage(400, "Undecodable", "The bytes are not UTF-8 text.", _FIX_INPUT),
    "unreadable": CodePage(
        422, "Unreadable", "The file could not be read, or is not a regular file.", _FIX_INPUT
    ),
    "skipped": CodePage(422, "Skipped", "The file was passed over (not an article).", _FIX_INPUT),
    "missing_header": CodePage(
        422, "Missing header", "The seed header (category, date) is missing.", _FIX_INPUT
    ),
    "malformed_header": CodePage(
        422, "Malformed header", "The seed header is not in the seed format.", _FIX_INPUT
    ),
    "impossible_date": CodePage(
        422, "Impossible date", "The header's date does not exist.", _FIX_INPUT
    ),
    "malformed_updated": CodePage(
        422, "Malformed Updated line", "The Updated: line cannot be read as a time.", _FIX_INPUT
    ),
    "future_updated": CodePage(
        422,
        "Updated in the future",
        "The update time is further ahead than NEWSWIRE_MAX_FUTURE_SKEW_S.",
        _FIX_INPUT,
    ),
    "future_date": CodePage(
        422,
        "Dated in the future",
        "The header's day is further ahead than NEWSWIRE_MAX_FUTURE_SKEW_S.",
        _FIX_INPUT,
    ),
    "empty_body": CodePage(422, "Empty body", "The article has no paragraphs.", _FIX_INPUT),
    "invalid_json": CodePage(400, "Invalid JSON", "The body is not valid JSON.", _FIX_INPUT),
    "invalid_article": CodePage(
        422, "Invalid article", "The article breaks its schema (see the detail).", _FIX_INPUT
    ),
    "invalid_ninjs": CodePage(
        422,
        "Invalid ninjs",
        "The document is not valid IPTC ninjs 2.x (its JSON Schema; see the detail).",
        _FIX_INPUT,
    ),
    "malformed_date": CodePage(
        422,
        "Malformed date",
        "A ninjs date-time is not ISO 8601 with a time zone offset.",
        _FIX_INPUT,
    ),
    # Dead letters of the indexer: never an HTTP answer, seen in the dead-letter topic.
    "not_json": CodePage(None, "Not JSON", "A record of the topic is not JSON.", _DLQ),
    "index_rejected": CodePage(None, "Index rejected", "Elasticsearch refused the document.", _DLQ),
    "index_retries_exhausted": CodePage(
        None, "Retries exhausted", "The document kept failing to index.", _DLQ
    ),
    "invalid_version": CodePage(
        None, "Invalid version", "The record's version cannot be indexed.", _DLQ
    ),
    "version_conflict": CodePage(
        None,
        "Version conflict",
        "A newer version of the article is already indexed; this one is older.",
        "Nothing, usually: the newer version stays.",
    ),
    # Errors of the command line and the services' insides: logs and exit codes, never HTTP.
    "newswire_error": CodePage(None, "Newswire error", "An error of Newswire.", "See the log."),
    "config_error": CodePage(
        None, "Configuration error", "The NEWSWIRE_* settings forbid the operation.", "Fix them."
    ),
    "stack_error": CodePage(
        None, "Stack error", "A local server failed to start or answer.", "Read its log file."
    ),
    "batch_abandoned": CodePage(
        None, "Batch abandoned", "The indexer gave a batch up; it is read again.", "Nothing."
    ),
    "bulk_refused": CodePage(
        None, "Bulk refused", "Elasticsearch refused a whole bulk request.", "See the log."
    ),
}


def type_uri(code: str) -> str:
    """The problem ``type`` of ``code``: a reference to its page on the answering service.

    Relative, as RFC 9457 allows: it resolves against the request's own URL, so it names the
    page on whichever host (and service) answered, behind any proxy.
    """
    return f"{PAGES_PATH}/{code}"


def render(code: str, page: CodePage) -> str:
    """The HTML page of one code."""
    status = str(page.status) if page.status is not None else "none (not an HTTP answer)"
    rows = (("Code", code), ("HTTP status", status), ("Meaning", page.meaning))
    cells = "".join(f"<tr><th>{k}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
    title = html.escape(page.title)
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body><h1>{title}</h1><table>{cells}</table>"
        f"<h2>What to do</h2><p>{html.escape(page.action)}</p>"
        f'<p><a href="{PAGES_PATH}">Every problem code</a></p></body></html>'
    )


def render_index() -> str:
    """The list of every code, each linking to its page."""
    items = "".join(
        f'<li><a href="{type_uri(c)}">{c}</a>: {html.escape(p.title)}</li>'
        for c, p in sorted(CODES.items())
    )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        "<title>Newswire problem codes</title></head><body><h1>Newswire problem codes</h1>"
        f"<ul>{items}</ul></body></html>"
    )


router = APIRouter(tags=["problems"], include_in_schema=False)


@router.get(PAGES_PATH, response_class=HTMLResponse)
async def problem_index() -> HTMLResponse:
    """Every problem code."""
    return HTMLResponse(render_index())


@router.get(PAGES_PATH + "/{code}", response_class=HTMLResponse)
async def problem_page(code: str) -> HTMLResponse:
    """The page of one problem code."""
    page = CODES.get(code)
    if page is None:
        raise NotFound(f"no problem code {code[:40]!r}")
    return HTMLResponse(render(code, page))
