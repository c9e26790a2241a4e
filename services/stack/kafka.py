"""KRaft Kafka run straight from its jars: one node, or a cluster of up to three on loopback."""

from __future__ import annotations

import asyncio
import base64
import logging
import os
import subprocess
import uuid
from pathlib import Path

from services.common.errors import StackError
from services.common.kafka import max_message_bytes
from services.common.settings import Settings
from services.stack.artifacts import Artifacts
from services.stack.process import ManagedProcess
from services.stack.server import LocalServer

_LOG4J = """\
status = warn
appender.file.type = RollingFile
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.filePattern = ${sys:kafka.logs.dir}/server.log.%i
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.file.policies.type = Policies
appender.file.policies.size.type = SizeBasedTriggeringPolicy
appender.file.policies.size.size = 50MB
appender.file.strategy.type = DefaultRolloverStrategy
appender.file.strategy.max = 3
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.state.name = state.change.logger
logger.state.level = WARN
"""


# Cluster members listen on the first member's ports plus this step times their index.
PORT_STEP = 10
# A broker's heap in a cluster: three of them and three Elasticsearch nodes fit 2 cores/24 GiB.
CLUSTER_HEAP_MB = 384


def broker_ports(settings: Settings) -> list[tuple[int, int]]:
    """The (broker, controller) ports of every member, node id 1 first."""
    return [
        (settings.kafka_port + PORT_STEP * i, settings.kafka_controller_port + PORT_STEP * i)
        for i in range(settings.kafka_brokers)
    ]


def cluster_bootstrap(settings: Settings) -> str:
    """Every broker's address, comma-separated: a client reaches the cluster through any."""
    return ",".join(f"127.0.0.1:{port}" for port, _ in broker_ports(settings))


class KafkaServer(LocalServer):
    """One combined broker+controller process, its config and its one-time storage format."""

    name = "kafka"

    def __init__(
        self, settings: Settings, artifacts: Artifacts, java_home: Path, member: int = 0
    ) -> None:
        self.member = member
        self.node_id = member + 1
        # The first member keeps the single-node names, so a one-node stack is unchanged.
        self.name = "kafka" if member == 0 else f"kafka-{self.node_id}"
        port, self.controller_port = broker_ports(settings)[member]
        super().__init__(settings, artifacts, java_home, port)
        self.config = self.home / "server.properties"
        self.process = ManagedProcess(
            self.name, self.home / "kafka.pid", self.logs_dir / "kafka.out"
        )

    @property
    def ports(self) -> list[int]:
        """Every port the server binds."""
        return [self.port, self.controller_port]

    @property
    def log_file(self) -> Path:
        """The log an operator should read first when the broker fails."""
        return self.logs_dir / "server.log"

    @property
    def heap_mb(self) -> int:
        """The JVM heap: the configured one, capped in a cluster."""
        if self.settings.kafka_brokers == 1:
            return self.settings.kafka_heap_mb
        return min(self.settings.kafka_heap_mb, CLUSTER_HEAP_MB)

    def _replication(self) -> list[str]:
        # Kafka's own topics (group offsets, transactions) are copied like ours.
        copies = min(3, self.settings.kafka_brokers)
        isr = 2 if copies >= 3 else 1
        return [
            f"offsets.topic.replication.factor={copies}",
            f"transaction.state.log.replication.factor={copies}",
            f"transaction.state.log.min.isr={isr}",
            f"share.coordinator.state.topic.replication.factor={copies}",
            f"share.coordinator.state.topic.min.isr={isr}",
            f"default.replication.factor={copies}",
        ]

    def _properties(self) -> str:
        cport = self.controller_port
        voters = ",".join(
            f"{i + 1}@127.0.0.1:{c}" for i, (_, c) in enumerate(broker_ports(self.settings))
        )
        # Topic-level max.message.bytes is set per topic; the broker default must allow it too.
        max_bytes = max_message_bytes(self.settings)
        return "\n".join(
            [
                "process.roles=broker,controller",
                f"node.id={self.node_id}",
                f"controller.quorum.voters={voters}",
                f"listeners=PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{cport}",
                f"advertised.listeners=PLAINTEXT://127.0.0.1:{self.port}",
                "controller.listener.names=CONTROLLER",
                "inter.broker.listener.name=PLAINTEXT",
                "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
                f"log.dirs={self.data_dir}",
                "num.partitions=3",
                "auto.create.topics.enable=false",
                "offsets.topic.num.partitions=5",
                *self._replication(),
                "group.initial.rebalance.delay.ms=0",
                f"message.max.bytes={max_bytes}",
                # A follower fetches up to this per partition: it must take the largest record.
                f"replica.fetch.max.bytes={max_bytes}",
                "log.retention.hours=168",
                "",
            ]
        )

    def _java(self, main: str, *args: str, heap_mb: int) -> list[str]:
        return [
            str(self.java_home / "bin" / "java"),
            f"-Xms{heap_mb}m",
            f"-Xmx{heap_mb}m",
            "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20",
            "-Djava.awt.headless=true",
            f"-Dkafka.logs.dir={self.logs_dir}",
            f"-Dlog4j2.configurationFile={self.home / 'log4j2.properties'}",
            "-cp",
            f"{self.artifacts.kafka_libs}/*",
            main,
            *args,
        ]

    def prepare(self) -> None:
        """Write the config and format the storage, the latter only once."""
        for folder in (self.data_dir, self.logs_dir):
            folder.mkdir(parents=True, exist_ok=True)
        self.config.write_text(self._properties())
        (self.home / "log4j2.properties").write_text(_LOG4J)
        if (self.data_dir / "meta.properties").is_file():
            return
        cmd = self._java(
            "kafka.tools.StorageTool",
            "format",
            # "=" form: a base64 id may start with "-" and would be read as an option.
            f"--cluster-id={self._cluster_id()}",
            f"--config={self.config}",
            heap_mb=256,
        )
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise StackError(
                self.name, f"formatting the storage failed: {proc.stderr.strip()[-800:]}"
            )

    def _cluster_id(self) -> str:
        """A new id for the first member; the others join the first member's cluster."""
        if self.member > 0:
            first = self.settings.state_dir / "kafka" / "data" / "meta.properties"
            for line in first.read_text().splitlines() if first.is_file() else []:
                if line.startswith("cluster.id="):
                    return line.split("=", 1)[1].strip()
            raise StackError(self.name, "the first broker's storage is not formatted")
        return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")

    def command(self) -> tuple[list[str], dict[str, str], str | None]:
        """The argv, environment and user to run the broker with."""
        argv = self._java("kafka.Kafka", str(self.config), heap_mb=self.heap_mb)
        return argv, dict(os.environ), None

    def probe(self) -> str | None:
        """The Kafka version when the broker answers a metadata request, else None."""
        from services.common.kafka import probe_kafka

        # aiokafka logs every refused connection at ERROR: noise while the broker boots.
        quiet = logging.getLogger("aiokafka")
        level = quiet.level
        quiet.setLevel(logging.CRITICAL)
        try:
            asyncio.run(probe_kafka(f"127.0.0.1:{self.port}", timeout=3.0))
        except Exception:
            return None
        finally:
            quiet.setLevel(level)
        return self.artifacts.kafka_version
