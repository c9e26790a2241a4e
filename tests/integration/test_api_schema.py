"""Property-based checks of the API against its own OpenAPI document (schemathesis)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

import httpx
import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from schemathesis.core.result import Ok

from services.api.app import create_app
from services.bench.procs import free_port
from services.common.article import Article
from services.common.settings import Settings

if TYPE_CHECKING:
    from schemathesis.specs.openapi.schemas import OpenApiCase

pytestmark = pytest.mark.integration

# No 5xx, bodies and content types as documented, only documented status codes. (Whether a
# schema-valid request may be refused is not checked: a forged cursor is valid by schema.)
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
]


@pytest.fixture
def served(settings: Settings) -> Iterator[str]:
    """The API served by uvicorn in a thread (its own event loop), as a real client sees it."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/livez", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    yield base
    server.should_exit = True
    thread.join(timeout=10)


# schemathesis's own strategies draw from `random`; Hypothesis warns about it (not our code).
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
def test_no_5xx_and_no_schema_violations(served: str, indexed: list[Article]) -> None:
    schema = schemathesis.openapi.from_url(f"{served}/openapi.json")
    failures: list[str] = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result.err()  # the API's own schema must load whole
        operation = result.ok()
        if operation.path == "/v1/pipeline/status":
            continue  # live Kafka state: covered by its own test

        @hypothesis_settings(
            max_examples=25,
            derandomize=True,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def check(case: OpenApiCase) -> None:
            response = case.call(base_url=served)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.path} {case.query}: {response.status_code}")
            case.validate_response(response, checks=CHECKS)

        check()
    assert not failures
