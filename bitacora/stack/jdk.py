"""Finding a Java to run each service, and Maven to fetch them.

OpenSearch 3.x needs Java 21+, while Debian's default ``java`` is 17; a newer JDK (e.g.
Temurin 25) is often installed next to it under /usr/lib/jvm. Kafka 4.x runs on Java 17+.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bitacora.errors import StackError

JVM_ROOT = Path("/usr/lib/jvm")
INSTALL_HINT = "apt-get install openjdk-17-jre-headless maven"


@dataclass(frozen=True)
class Jdk:
    """A Java installation: its home (``bin/java`` inside) and feature version (17, 21, 25…)."""

    home: Path
    major: int

    @property
    def java(self) -> Path:
        return self.home / "bin" / "java"


def parse_java_major(text: str) -> int | None:
    """The feature version from a ``release`` file or ``java -version`` output.

    ``JAVA_VERSION="25.0.3"`` → 25, ``openjdk version "17.0.15"`` → 17, ``"1.8.0_402"`` → 8.
    """
    match = re.search(r'(?:JAVA_VERSION=|version )"(\d+)(?:\.(\d+))?', text)
    if match is None:
        return None
    major = int(match.group(1))
    if major == 1 and match.group(2):
        return int(match.group(2))
    return major


def choose_jdk(jdks: list[Jdk], min_major: int) -> Jdk | None:
    """The newest JDK of at least ``min_major``; None when there is none."""
    fitting = [j for j in jdks if j.major >= min_major]
    return max(fitting, key=lambda j: (j.major, str(j.home)), default=None)


def _probe(home: Path) -> Jdk | None:
    java = home / "bin" / "java"
    if not java.is_file():
        return None
    release = home / "release"
    major = parse_java_major(release.read_text(errors="replace")) if release.is_file() else None
    if major is None:
        try:
            out = subprocess.run(
                [str(java), "-version"], capture_output=True, text=True, timeout=30, check=False
            )
        except OSError:
            return None
        major = parse_java_major(out.stderr + out.stdout)
    return Jdk(home=home, major=major) if major is not None else None


def installed_jdks(root: Path = JVM_ROOT) -> list[Jdk]:
    """Every JDK/JRE under ``root`` plus the ``java`` on PATH, symlinked duplicates removed."""
    homes: dict[Path, None] = {}
    if root.is_dir():
        for child in sorted(root.iterdir()):
            homes.setdefault(child.resolve(), None)
    on_path = shutil.which("java")
    if on_path:
        homes.setdefault(Path(on_path).resolve().parent.parent, None)
    return [j for j in (_probe(h) for h in homes) if j is not None]


def java_for_opensearch(explicit: Path | None, requested_min: int) -> Jdk:
    """The JDK for OpenSearch: ``explicit`` if set, else the newest installed one.

    ``requested_min`` only matters for the error message; version selection happens in
    ``config.opensearch_candidates`` with the major returned here.
    """
    if explicit is not None:
        jdk = _probe(explicit)
        if jdk is None:
            raise StackError(f"BITACORA_JAVA_HOME_OPENSEARCH={explicit} has no bin/java")
        return jdk
    best = choose_jdk(installed_jdks(), 11)
    if best is None:
        raise StackError(f"java not found (OpenSearch needs Java {requested_min}+): {INSTALL_HINT}")
    return best


def java_for_kafka() -> Jdk:
    """The JDK for Kafka 4.x: the ``java`` on PATH when it is 17+, else the newest 17+."""
    jdks = installed_jdks()
    on_path = shutil.which("java")
    if on_path:
        home = Path(on_path).resolve().parent.parent
        for jdk in jdks:
            if jdk.home == home and jdk.major >= 17:
                return jdk
    best = choose_jdk(jdks, 17)
    if best is None:
        raise StackError(f"java 17+ not found (Kafka needs it): {INSTALL_HINT}")
    return best


def maven() -> str:
    """The ``mvn`` executable, or a one-line error saying what to install."""
    found = shutil.which("mvn")
    if found is None:
        raise StackError(f"mvn not found (needed to fetch Kafka and OpenSearch): {INSTALL_HINT}")
    return found
