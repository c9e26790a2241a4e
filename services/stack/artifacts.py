"""Resolve Kafka's jars and Elasticsearch's distribution with Maven, cached outside the repo."""

from __future__ import annotations

import shutil
import stat
import subprocess
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

from services.common.errors import StackError

POM = Path(__file__).resolve().parents[2] / "deploy" / "pom.xml"
_NS = {"m": "http://maven.apache.org/POM/4.0.0"}


@dataclass(frozen=True)
class Artifacts:
    """Where the resolved servers live in the cache."""

    kafka_version: str
    es_version: str
    kafka_libs: Path
    es_home: Path

    @property
    def kafka_classpath(self) -> str:
        """The JVM classpath of Kafka's broker and tools (``ProducerPerformance``) alike."""
        return f"{self.kafka_libs}/*"


def pom_versions(pom: Path = POM) -> tuple[str, str]:
    """The Kafka and Elasticsearch versions the pom pins: one source of truth."""
    root = ET.parse(pom).getroot()
    props = root.find("m:properties", _NS)
    if props is None:
        raise StackError("maven", f"{pom} has no <properties>")
    kafka = props.findtext("m:kafka.version", namespaces=_NS)
    es = props.findtext("m:elasticsearch.version", namespaces=_NS)
    if not kafka or not es:
        raise StackError("maven", f"{pom} must set kafka.version and elasticsearch.version")
    return kafka, es


def resolve(cache_dir: Path, pom: Path = POM) -> Artifacts:
    """Download (once) and unpack the servers; later calls touch no network."""
    kafka_version, es_version = pom_versions(pom)
    kafka_libs = cache_dir / f"kafka-{kafka_version}" / "libs"
    es_zip = cache_dir / "downloads" / f"elasticsearch-{es_version}.zip"
    es_home = cache_dir / f"elasticsearch-{es_version}"
    jars = ("kafka_2.13-*.jar", "kafka-tools-[0-9]*.jar")  # not kafka-tools-api
    if not all(any(kafka_libs.glob(jar)) for jar in jars) or not es_zip.is_file():
        _run_maven(pom, cache_dir)
    if not (es_home / "bin" / "elasticsearch").is_file():
        _unzip(es_zip, es_home)
    return Artifacts(kafka_version, es_version, kafka_libs, es_home)


def _run_maven(pom: Path, cache_dir: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError("maven", "mvn is not installed (apt-get install maven)")
    cache_dir.mkdir(parents=True, exist_ok=True)
    cmd = [mvn, "-B", "-q", "-f", str(pom), "generate-resources", f"-Dnewswire.cache={cache_dir}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        detail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        raise StackError("maven", "resolving the servers failed:\n" + "\n".join(detail))


def _unzip(archive: Path, target: Path) -> None:
    """Unpack keeping the executable bits (zipfile drops them) and strip the top folder."""
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            parts = Path(info.filename).parts[1:]
            if not parts:
                continue
            dest = partial.joinpath(*parts)
            if info.is_dir():
                dest.mkdir(parents=True, exist_ok=True)
                continue
            dest.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, dest.open("wb") as out:
                shutil.copyfileobj(src, out)
            mode = (info.external_attr >> 16) & 0o777
            dest.chmod((mode or 0o644) | stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)
    for folder in [partial, *(p for p in partial.rglob("*") if p.is_dir())]:
        folder.chmod(0o755)
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)
