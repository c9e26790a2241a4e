"""Settings of one run (a test, a bench step) isolated from every other on a shared stack."""

from __future__ import annotations

from services.common.settings import Settings


def isolated(settings: Settings, name: str) -> Settings:
    """``settings`` with topics, consumer group and index alias of their own, named ``name``."""
    return settings.model_copy(
        update={
            "topic_articles": f"{name}.articles",
            "topic_dlq": f"{name}.dlq",
            "indexer_group": f"{name}-indexer",
            "index_alias": f"{name}-articles",
            "topic_alert_events": f"{name}.alert-events",
            "alerts_group": f"{name}-alerts",
            "webhooks_group": f"{name}-webhooks",
        }
    )
