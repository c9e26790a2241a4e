"""Every metric the Grafana dashboard queries is exported by the running services."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from services.bench.procs import Child, free_port
from services.common.es import es_client
from services.common.settings import Settings
from tests.factories import seed_files
from tests.integration.pipeline_helpers import count_docs, wait_until
from tests.unit.test_deploy import dashboard_metrics

pytestmark = pytest.mark.integration


def scraped_names(text: str) -> set[str]:
    names = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        for sample in family.samples:
            names.add(re.sub(r"_(bucket|sum|count|created)$", "", sample.name))
    return names


async def test_dashboard_metrics_are_exported_during_an_ingest(
    settings: Settings, tmp_path: Path
) -> None:
    settings = settings.model_copy(
        update={
            "ingest_port": free_port(),
            "indexer_port": free_port(),
            "api_port": free_port(),
            "alerts_port": free_port(),
            "state_dir": tmp_path,
            "api_key": SecretStr("metrics-contract-key"),
            "webhook_private_targets": True,  # a webhook on loopback, on purpose
        }
    )
    children = [
        Child(f"services.{name}", settings, tmp_path / f"{name}.log")
        for name in ("ingest", "indexer", "alerts", "api")
    ]
    ports = [settings.ingest_port, settings.indexer_port, settings.alerts_port, settings.api_port]
    try:
        for child, port in zip(children, ports, strict=True):
            child.start()
            await asyncio.to_thread(child.wait_ready, port)
        auth = {"authorization": "Bearer metrics-contract-key"}
        async with httpx.AsyncClient(timeout=10) as http:
            api = f"http://127.0.0.1:{settings.api_port}"
            # A saved search of everything, its webhook on a port nobody listens on: events
            # are told and attempts fail, so the alerts' panels have series to show.
            nobody = f"http://127.0.0.1:{free_port()}/hook"
            saved = await http.post(
                f"{api}/v1/alerts", json={"q": "", "webhook_url": nobody}, headers=auth
            )
            assert saved.status_code == 201, saved.text
            base = f"http://127.0.0.1:{settings.ingest_port}"
            for path in seed_files():
                reply = await http.post(
                    f"{base}/v1/articles",
                    content=path.read_bytes(),
                    headers={"content-type": "text/plain", **auth},
                )
                assert reply.status_code == 202
            bad = await http.post(
                f"{base}/v1/articles",
                content=b"no header",
                headers={"content-type": "text/plain", **auth},
            )
            assert bad.status_code == 422
            async with es_client(settings) as es:
                await wait_until(lambda: count_docs(es, settings), 60, "documents indexed")

            async def attempted() -> bool:
                metrics = (await http.get(f"http://127.0.0.1:{settings.alerts_port}/metrics")).text
                return "newswire_webhook_attempts_total{" in metrics

            await wait_until(attempted, 60, "a webhook attempt")
            assert (await http.get(f"{api}/v1/search", params={"q": "missiles"})).status_code == 200
            assert (await http.get(f"{api}/v1/pipeline/status")).status_code == 200
            exported: set[str] = set()
            for port in ports:
                exported |= scraped_names((await http.get(f"http://127.0.0.1:{port}/metrics")).text)
    finally:
        for child in children:
            child.stop()
    missing = sorted(dashboard_metrics() - exported)
    assert not missing, missing
