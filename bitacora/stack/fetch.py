"""Fetching the stack with Maven into the XDG cache, with progress on the terminal.

Maven's own local repository is pointed into the cache too (``<cache>/m2``), so the
project never writes outside its cache and state directories.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
import zipfile
from collections.abc import Callable
from pathlib import Path

from bitacora.errors import StackError
from bitacora.stack import config
from bitacora.stack.jdk import maven

Echo = Callable[[str], None]

MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
UNAVAILABLE_TTL_S = 24 * 3600
_DOWNLOADED = re.compile(r"Downloaded from \S+: (\S+) \(([^)]*?)(?: at [^)]*)?\)")


def progress_line(line: str) -> str | None:
    """A short progress message for a Maven output line about a downloaded jar or zip."""
    match = _DOWNLOADED.search(line)
    if match is None or not match.group(1).endswith((".jar", ".zip")):
        return None
    return f"  downloaded {match.group(1).rsplit('/', 1)[-1]} ({match.group(2).strip()})"


def _mvn(args: list[str], layout: config.Layout, echo: Echo, cwd: Path | None = None) -> bool:
    """Run Maven in batch mode; echo download progress; True on success."""
    argv = [maven(), "-B", f"-Dmaven.repo.local={layout.maven_repo}", *args]
    proc = subprocess.Popen(
        argv,
        cwd=cwd or layout.cache_dir,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert proc.stdout is not None  # PIPE was requested
    errors: list[str] = []
    for line in proc.stdout:
        message = progress_line(line)
        if message:
            echo(message)
        elif line.startswith("[ERROR]") and len(errors) < 3:
            errors.append(line.strip())
    ok = proc.wait() == 0
    missing = any("Could not find artifact" in e or "was not found" in e for e in errors)
    if not ok and errors and not missing:  # a plain miss is reported by the caller
        echo("  maven: " + errors[0][:300])
    return ok


def fetch_artifact(coordinates: str, layout: config.Layout, echo: Echo) -> Path | None:
    """Copy one artifact (``group:artifact:version:type``) into the downloads dir.

    Returns its path, or None when the repository does not serve it.
    """
    _group, artifact, version, kind = coordinates.split(":")
    target = layout.downloads / f"{artifact}-{version}.{kind}"
    if target.is_file():
        return target
    # Remember a miss for a day: asking Maven again costs seconds on every `stack up`.
    miss = layout.downloads / f"{artifact}-{version}.{kind}.unavailable"
    if miss.is_file() and time.time() - miss.stat().st_mtime < UNAVAILABLE_TTL_S:
        return None
    layout.downloads.mkdir(parents=True, exist_ok=True)
    echo(f"fetching {coordinates}")
    ok = _mvn(
        [
            f"{MAVEN_DEPENDENCY_PLUGIN}:copy",
            f"-Dartifact={coordinates}",
            f"-DoutputDirectory={layout.downloads}",
            "-Dmdep.overWriteIfNewer=true",
        ],
        layout,
        echo,
    )
    if not ok or not target.is_file():
        miss.write_text(f"{coordinates} was not served\n")
        return None
    echo(f"  {target.name}: {target.stat().st_size / 1e6:.1f} MB")
    return target


def unzip_with_modes(archive: Path, destination: Path) -> None:
    """Extract ``archive`` keeping Unix permissions (zipfile alone drops the exec bits)."""
    with zipfile.ZipFile(archive) as zf:
        for info in zf.infolist():
            path = Path(zf.extract(info, destination))
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                path.chmod(mode)


def install_opensearch(version: str, layout: config.Layout, echo: Echo) -> Path | None:
    """Fetch and unpack OpenSearch ``version`` into the cache; its home, or None if unserved.

    Unpacks into a temporary directory and renames it, so an interrupted run never leaves
    a half-extracted distribution behind.
    """
    home = layout.opensearch_home(version)
    if (home / "bin" / "opensearch").is_file():
        return home
    archive = fetch_artifact(config.OPENSEARCH_ARTIFACT.format(version=version), layout, echo)
    if archive is None:
        return None
    echo(f"unpacking {archive.name}")
    scratch = layout.cache_dir / f".unpack-opensearch-{version}"
    shutil.rmtree(scratch, ignore_errors=True)
    unzip_with_modes(archive, scratch)
    (top,) = list(scratch.iterdir())  # the zip holds one directory: opensearch-<version>/
    shutil.rmtree(home, ignore_errors=True)
    top.rename(home)
    shutil.rmtree(scratch, ignore_errors=True)
    return home


def install_plugins(
    version: str, home: Path, java_home: Path, layout: config.Layout, echo: Echo
) -> list[str]:
    """Install the job scheduler and index management plugins when their zips are served
    for exactly ``version`` (plugins only load on the OpenSearch version they were built
    for). Returns the installed plugin names."""
    installed: list[str] = []
    for name in config.OPENSEARCH_PLUGINS:
        if (home / "plugins" / name).is_dir():
            installed.append(name)
            continue
        coordinates = config.PLUGIN_ARTIFACT.format(name=name, version=version)
        archive = fetch_artifact(coordinates, layout, echo)
        if archive is None:
            echo(f"  {coordinates} is not served: OpenSearch runs without {name}")
            break  # index management cannot work without the job scheduler
        result = subprocess.run(
            [str(home / "bin" / "opensearch-plugin"), "install", "--batch", archive.as_uri()],
            env={"OPENSEARCH_JAVA_HOME": str(java_home), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(
                f"installing {name} failed: {result.stdout[-500:]}{result.stderr[-500:]}"
            )
        echo(f"  installed plugin {name}")
        installed.append(name)
    return installed


def install_kafka(version: str, layout: config.Layout, echo: Echo) -> Path:
    """Fetch Kafka ``version`` with its runtime dependencies into ``<cache>/kafka-<v>/libs``."""
    libs = layout.kafka_libs(version)
    if (libs / f"kafka_2.13-{version}.jar").is_file():
        return libs
    home = layout.kafka_home(version)
    home.mkdir(parents=True, exist_ok=True)
    (home / "pom.xml").write_text(config.kafka_pom(version))
    scratch = home / "libs.partial"
    shutil.rmtree(scratch, ignore_errors=True)
    echo(f"fetching org.apache.kafka:kafka_2.13:{version} with its runtime dependencies")
    ok = _mvn(
        [
            f"{MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={scratch}",
        ],
        layout,
        echo,
        cwd=home,
    )
    if not ok or not (scratch / f"kafka_2.13-{version}.jar").is_file():
        raise StackError(f"Kafka {version} could not be fetched with Maven (see the lines above)")
    size = sum(p.stat().st_size for p in scratch.iterdir())
    echo(f"  {len(list(scratch.iterdir()))} jars, {size / 1e6:.1f} MB")
    shutil.rmtree(libs, ignore_errors=True)
    scratch.rename(libs)
    return libs
