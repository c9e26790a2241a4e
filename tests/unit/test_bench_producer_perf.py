"""ProducerPerformance: the ingest's producer settings as Java properties, its output read."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.bench.producer_perf import (
    MAIN,
    command,
    delimiter_for,
    ingest_producer_kwargs,
    java_properties,
    parse_summary,
)
from services.common.settings import Settings

OUTPUT = """Reading payloads from: /tmp/p.txt
Number of messages read: 4950
103051 records sent, 20610.2 records/sec (80.51 MB/sec), 310.2 ms avg latency, 912.0 ms max latency.
50000 records sent, 21331.2 records/sec (83.33 MB/sec), 297.56 ms avg latency, 1002.00 ms max \
latency, 280 ms 50th, 640 ms 95th, 870 ms 99th, 990 ms 99.9th.
"""


def test_the_ingests_producer_settings_become_the_java_producers() -> None:
    settings = Settings(kafka_bootstrap="127.0.0.1:9092")
    props = java_properties(ingest_producer_kwargs(settings))
    assert props["bootstrap.servers"] == "127.0.0.1:9092"
    assert props["acks"] == "all"
    assert props["enable.idempotence"] == "true"
    assert props["compression.type"] == "zstd"
    assert props["linger.ms"] == "5"
    assert props["batch.size"] == str(512 * 1024)


def test_an_aiokafka_keyword_without_a_java_property_is_an_error() -> None:
    with pytest.raises(ValueError, match="transactional_id"):
        java_properties({"acks": "all", "transactional_id": "x"})


def test_the_summary_is_the_last_line_with_a_total() -> None:
    assert parse_summary(OUTPUT) == {
        "records": 50000.0,
        "records_per_s": 21331.2,
        "mb_per_s": 83.33,
    }


def test_output_without_a_summary_is_an_error() -> None:
    with pytest.raises(ValueError, match="no ProducerPerformance summary"):
        parse_summary("Exception in thread main\n")


def test_the_delimiter_occurs_in_no_payload() -> None:
    assert delimiter_for([b'{"a":"x\\ny"}', b"{}"]) == "\n"
    assert delimiter_for([b'{"a":1}\n{"b":2}']) == "\x1e"
    with pytest.raises(ValueError, match="delimiter"):
        delimiter_for([b"\n\x1e\x1f"])


def test_the_command_is_unthrottled_with_every_property() -> None:
    cmd = command(Path("/j/bin/java"), "/libs/*", "t", 10, Path("/p"), {"acks": "all"})
    assert cmd[0] == "/j/bin/java"
    assert cmd[cmd.index("-cp") + 1] == "/libs/*"
    assert MAIN in cmd
    assert "--throughput=-1" in cmd
    assert "--num-records=10" in cmd
    assert cmd[-2:] == ["--producer-props", "acks=all"]
