"""Kafka's own ``ProducerPerformance`` with the ingest's producer settings: the ingest's limit."""

from __future__ import annotations

import asyncio
import re
import subprocess
from pathlib import Path
from typing import Any

from services.common import kafka
from services.common.settings import Settings
from services.stack.artifacts import resolve
from services.stack.jdk import find_java_home

MAIN = "org.apache.kafka.tools.ProducerPerformance"
# aiokafka's keyword -> the Java producer's property, and how a value is written there.
_PROPERTIES = {
    "bootstrap_servers": "bootstrap.servers",
    "client_id": "client.id",
    "acks": "acks",
    "enable_idempotence": "enable.idempotence",
    "compression_type": "compression.type",
    "linger_ms": "linger.ms",
    "max_batch_size": "batch.size",
    "max_request_size": "max.request.size",
    "request_timeout_ms": "request.timeout.ms",
}
# Candidate payload delimiters: compact JSON escapes control characters, so "\n" never occurs.
_DELIMITERS = ("\n", "\x1e", "\x1f")
_SUMMARY = re.compile(r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\)")


def ingest_producer_kwargs(settings: Settings) -> dict[str, Any]:
    """The keywords ``services.common.kafka.make_producer`` gives aiokafka: nothing to drift."""
    return kafka.producer_options(settings)


def java_properties(kwargs: dict[str, Any]) -> dict[str, str]:
    """The Java producer's properties for these aiokafka keywords; an unknown one is an error."""
    unknown = sorted(set(kwargs) - set(_PROPERTIES))
    if unknown:
        raise ValueError(f"no Java producer property known for {unknown}: add it to the table")
    out = {}
    for name, value in kwargs.items():
        out[_PROPERTIES[name]] = str(value).lower() if isinstance(value, bool) else str(value)
    return out


def delimiter_for(payloads: list[bytes]) -> str:
    """A payload delimiter that occurs in no payload."""
    for candidate in _DELIMITERS:
        if not any(candidate.encode() in p for p in payloads):
            return candidate
    raise ValueError("every candidate delimiter occurs in a payload")


def parse_summary(output: str) -> dict[str, float]:
    """The final summary line of ``ProducerPerformance``: records, records/s and MB/s."""
    matches = _SUMMARY.findall(output)
    if not matches:
        raise ValueError(f"no ProducerPerformance summary in: {output[-500:]!r}")
    records, per_s, mb_per_s = matches[-1]  # progress lines come first, the total last
    return {"records": float(records), "records_per_s": float(per_s), "mb_per_s": float(mb_per_s)}


def command(
    java: Path, classpath: str, topic: str, records: int, payload: Path, props: dict[str, str]
) -> list[str]:
    """The command line: as fast as it goes (no throttle), the payloads from a file."""
    return [
        str(java),
        "-Xmx512m",
        "-cp",
        classpath,
        MAIN,
        f"--topic={topic}",
        f"--num-records={records}",
        "--throughput=-1",
        f"--payload-file={payload}",
        "--producer-props",
        *(f"{k}={v}" for k, v in props.items()),
    ]


def bench_producer_perf(settings: Settings, payloads: list[bytes], work: Path) -> dict[str, Any]:
    """``ProducerPerformance`` of ``len(payloads)`` records to a topic of its own."""
    # A topic of its own, not compacted: the tool sends records without keys, which the
    # article topic (compacted per article id) refuses.
    asyncio.run(
        kafka.ensure_topics(settings, {settings.topic_articles: kafka.topic_configs(settings)})
    )
    delimiter = delimiter_for(payloads)
    payload = work / "producer-perf-payloads.txt"
    payload.write_bytes(delimiter.encode().join(payloads))
    props = java_properties(ingest_producer_kwargs(settings))
    props["client.id"] = "newswire-bench-producer-perf"
    java = find_java_home(settings.java_home, settings.cache_dir) / "bin" / "java"
    classpath = resolve(settings.cache_dir).kafka_classpath
    cmd = command(java, classpath, settings.topic_articles, len(payloads), payload, props)
    if delimiter != "\n":  # the tool's default; any other goes before --producer-props
        cmd.insert(cmd.index("--producer-props"), f"--payload-delimiter={delimiter}")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"ProducerPerformance failed: {(proc.stdout + proc.stderr)[-1500:]}")
    summary = parse_summary(proc.stdout)
    if not summary["records"]:
        raise RuntimeError(
            f"ProducerPerformance sent nothing: {(proc.stdout + proc.stderr)[-1500:]}"
        )
    return {**summary, "settings": props, "records": int(summary["records"])}
