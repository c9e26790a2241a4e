"""Fault injection on the live local stack (slow: run with `pytest -m chaos` or `make chaos`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.bench.fault_scenarios import SCENARIOS, run_scenarios
from services.common.settings import Settings
from services.stack.local_stack import LocalStack

pytestmark = [pytest.mark.chaos, pytest.mark.integration]


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_nothing_is_lost_or_doubled(
    scenario: str, live_stack: Settings, local_stack: LocalStack, tmp_path: Path
) -> None:
    [outcome] = await run_scenarios(live_stack, local_stack, 3000, tmp_path, [scenario])
    assert outcome.accepted > 0
    assert outcome.lost == 0, outcome
    assert outcome.duplicated == 0, outcome
    assert outcome.unique_ids == outcome.expected_ids, outcome
    assert not outcome.notes, outcome.notes
