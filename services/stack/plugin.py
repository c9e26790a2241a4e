"""Newswire's text-analysis plugin: built from its sources with the JDK, installed once.

The local server (the integ-test distribution) lacks analysis-common; its ``lib/`` carries
Lucene's analysis jars and the stable plugin API, so a handful of Lucene filters exposed as
named components is compiled against the distribution's own jars, offline, and installed
with ``bin/elasticsearch-plugin``. The compose image installs the same plugin
(deploy/elasticsearch/Dockerfile), so both deployments analyse text alike.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import subprocess
import tempfile
import zipfile
from pathlib import Path

from services.common.errors import StackError
from services.stack.jdk import MIN_JAVA, java_major

NAME = "newswire-analysis"
SOURCE = Path(__file__).resolve().parents[2] / "deploy" / "elasticsearch" / "analysis-plugin"
_STAMP = "newswire-source.sha256"


def source_digest(source: Path = SOURCE) -> str:
    """A fingerprint of the plugin's sources: a changed source means a rebuild."""
    digest = hashlib.sha256()
    for path in sorted(p for p in source.rglob("*") if p.is_file()):
        digest.update(path.relative_to(source).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def ensure_plugin(es_home: Path, java_home: Path, source: Path = SOURCE) -> None:
    """Build and install the plugin unless this very source is installed already."""
    installed = es_home / "plugins" / NAME
    wanted = source_digest(source)
    # Test sessions and `make up` may share one distribution: one installer at a time.
    with (es_home / ".newswire-plugin.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = installed / _STAMP
        if stamp.is_file() and stamp.read_text().strip() == wanted:
            return
        with tempfile.TemporaryDirectory(prefix="newswire-plugin-") as work:
            archive = build(Path(work), es_home, javac_home(java_home), source)
            if installed.exists():
                _plugin_cli(es_home, java_home, "remove", NAME)
            _plugin_cli(es_home, java_home, "install", "--batch", archive.as_uri())
        stamp.write_text(wanted + "\n")
        for path in [installed, *installed.rglob("*")]:
            # The server runs as an unprivileged user: it must read what root installed.
            path.chmod(0o755 if path.is_dir() else 0o644)


def javac_home(preferred: Path) -> Path:
    """A JDK with javac, version 21 or newer (the one the servers run on when it has one)."""
    candidates = [preferred]
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        candidates += sorted((p for p in jvm.iterdir() if not p.is_symlink()), reverse=True)
    for home in candidates:
        major = java_major(home)
        if (home / "bin" / "javac").is_file() and major is not None and major >= MIN_JAVA:
            return home
    raise StackError(
        "elasticsearch",
        f"building the {NAME} plugin needs javac {MIN_JAVA}+ (apt-get install a JDK 21+, "
        "or set NEWSWIRE_JAVA_HOME to one)",
    )


def build(work: Path, es_home: Path, jdk: Path, source: Path = SOURCE) -> Path:
    """Compile the sources against the distribution's jars; returns the plugin zip."""
    classes = work / "classes"
    classes.mkdir(parents=True)
    sources = sorted(str(p) for p in (source / "src").rglob("*.java"))
    classpath = str(es_home / "lib" / "*")
    _run(
        [
            str(jdk / "bin" / "javac"),
            "--release",
            "21",
            "-cp",
            classpath,
            "-d",
            str(classes),
            *sources,
        ]
    )
    jar = work / f"{NAME}.jar"
    _run([str(jdk / "bin" / "jar"), "cf", str(jar), "-C", str(classes), "."])
    archive = work / f"{NAME}.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.write(jar, jar.name)
        # Beside the jar, the components need no class scan at install (which needs a big heap).
        for name in ("stable-plugin-descriptor.properties", "named_components.json"):
            zf.write(source / name, name)
    return archive


def _plugin_cli(es_home: Path, java_home: Path, *args: str) -> None:
    env = {
        **os.environ,
        "ES_JAVA_HOME": str(java_home),
        "ES_PATH_CONF": str(es_home / "config"),
        "CLI_JAVA_OPTS": "-Xmx256m",
    }
    _run([str(es_home / "bin" / "elasticsearch-plugin"), *args], env=env)


def _run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if proc.returncode != 0:
        detail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-12:])
        raise StackError("elasticsearch", f"{Path(cmd[0]).name} failed:\n{detail}")
