"""Starting, stopping and inspecting the local OpenSearch and Kafka (the thin shell).

Every function takes ``Settings`` (ports come from ``opensearch_url``/``kafka_bootstrap``,
directories from ``cache_dir``/``state_dir``) and an ``echo`` for progress lines. A file
lock in the state directory serialises concurrent callers (several test sessions).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from bitacora.errors import StackError
from bitacora.settings import Settings
from bitacora.stack import config, fetch, health, procs, secure
from bitacora.stack.jdk import java_for_kafka, java_for_opensearch

Echo = Callable[[str], None]

START_TIMEOUT_S = {"opensearch": 240.0, "kafka": 120.0}
STOP_DEADLINE_S = 60.0


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True)
class ServiceStatus:
    """What ``bitacora stack status`` shows for one service."""

    service: str
    running: bool
    pid: int | None
    port: int
    version: str | None
    healthy: bool
    detail: str = ""


@contextlib.contextmanager
def _locked(settings: Settings) -> Iterator[None]:
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    with (settings.state_dir / "stack.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _check_service(service: str) -> None:
    if service not in config.SERVICES:
        raise StackError(f"unknown service {service!r}: choose one of {', '.join(config.SERVICES)}")


def _healthy(settings: Settings, service: str) -> bool:
    ports = config.ports_for(settings)
    if service == "opensearch":
        return health.opensearch_healthy(settings.opensearch_url)
    return health.kafka_healthy("127.0.0.1", ports.kafka)


def _port(settings: Settings, service: str) -> int:
    ports = config.ports_for(settings)
    return ports.opensearch_http if service == "opensearch" else ports.kafka


def _check_loopback(settings: Settings) -> None:
    for address, default in ((settings.opensearch_url, 9200), (settings.kafka_bootstrap, 9092)):
        host, _ = config.parse_host_port(address, default)
        if host not in ("127.0.0.1", "localhost"):
            raise StackError(
                f"the local stack runs on 127.0.0.1 only, but {address} points to {host}"
            )


# --- OpenSearch -----------------------------------------------------------------------------


def _launch_opensearch(settings: Settings, echo: Echo) -> int:
    layout = config.layout_for(settings)
    jdk = java_for_opensearch(settings.java_home_opensearch, 21)
    requested = settings.opensearch_version
    candidates = config.opensearch_candidates(requested, jdk.major)
    if not candidates:
        raise StackError(
            f"OpenSearch {requested} needs Java 21+, found Java {jdk.major}: install a newer JDK"
        )
    home = version = None
    for candidate in candidates:
        home = fetch.install_opensearch(candidate, layout, echo)
        if home is not None:
            version = candidate
            break
    if home is None or version is None:
        raise StackError(f"no OpenSearch integ-test-zip is served among {', '.join(candidates)}")
    if version != requested:
        echo(
            f"note: OpenSearch {requested} is not available here (not served or needs Java "
            f"{config.opensearch_min_java(requested)}+, found {jdk.major}); using {version}"
        )
    plugins = fetch.install_plugins(version, home, jdk.home, layout, echo)

    base = layout.service_dir("opensearch")
    conf, data, logs, tmp = (base / d for d in ("config", "data", "logs", "tmp"))
    for directory in (data, logs, tmp):
        directory.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(conf, ignore_errors=True)  # always the config of the version we start
    shutil.copytree(home / "config", conf)
    ports = config.ports_for(settings)
    ism = "opensearch-index-management" in plugins
    (conf / "opensearch.yml").write_text(config.opensearch_yml(ports, data, logs, ism))
    (conf / "jvm.options.d").mkdir(exist_ok=True)
    (conf / "jvm.options.d" / "heap.options").write_text(
        config.heap_options(settings.opensearch_heap)
    )
    layout.version_file("opensearch").write_text(version)

    java_opts = ""
    if os.geteuid() == 0:
        # OpenSearch refuses to run as root, and checks that through JNA. Containers and CI
        # runners are often root; without JNA's native library the check (and only native
        # extras such as mlockall and the seccomp filter) is skipped. Dev/test stack only.
        java_opts = "-Djna.nosys=true -Djna.nounpack=true"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", str(base)),
        "LANG": "C.UTF-8",
        "OPENSEARCH_JAVA_HOME": str(jdk.home),
        "OPENSEARCH_PATH_CONF": str(conf),
        "OPENSEARCH_TMPDIR": str(tmp),
        "OPENSEARCH_JAVA_OPTS": java_opts,
    }
    echo(
        f"starting OpenSearch {version} (Java {jdk.major}, heap {settings.opensearch_heap}) "
        f"on 127.0.0.1:{ports.opensearch_http}"
    )
    argv = [str(home / "bin" / "opensearch"), "-p", layout.marker("opensearch")]
    return procs.start_detached(
        argv, env, base, layout.log_file("opensearch"), layout.pid_file("opensearch")
    )


# --- Kafka ----------------------------------------------------------------------------------


def _launch_kafka(settings: Settings, echo: Echo) -> int:
    layout = config.layout_for(settings)
    version = settings.kafka_version
    jdk = java_for_kafka()
    libs = fetch.install_kafka(version, layout, echo)
    base = layout.service_dir("kafka")
    data, logs = base / "data", base / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    ports = config.ports_for(settings)
    material = secure.ensure_material(secure.material_for(base))
    properties = base / "server.properties"
    properties.touch(mode=0o600)  # it holds the PLAIN users' password
    properties.write_text(
        config.kafka_server_properties(
            ports, data, secure.server_properties(material, ports.kafka_sasl_ssl, ports.kafka_ssl)
        )
    )
    log4j2 = base / "log4j2.yaml"
    log4j2.write_text(config.kafka_log4j2("INFO", logs))
    quiet_log4j2 = base / "log4j2-tools.yaml"
    quiet_log4j2.write_text(config.kafka_log4j2("WARN"))
    java_args = config.kafka_java_args(settings.kafka_heap, libs, log4j2, logs)
    version_file = layout.version_file("kafka")
    if version_file.is_file() and version_file.read_text().strip() != version and data.exists():
        echo(
            f"note: Kafka data was written by {version_file.read_text().strip()}; "
            f"use `bitacora stack up --fresh` if {version} refuses it"
        )
    if not (data / "meta.properties").is_file():
        echo(f"formatting KRaft storage in {data}")
        tool_args = config.kafka_java_args("256m", libs, quiet_log4j2, logs)
        result = subprocess.run(
            [
                str(jdk.java),
                *tool_args,
                config.KAFKA_STORAGE_TOOL,
                "format",
                "-t",
                config.new_cluster_id(),
                "-c",
                str(properties),
                "--ignore-formatted",
                *secure.format_arguments(material),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise StackError(
                f"formatting Kafka storage failed: {(result.stderr or result.stdout)[-800:]}"
            )
        material.scram_marker.touch()
    version_file.write_text(version)
    echo(
        f"starting Kafka {version} (Java {jdk.major}, heap {settings.kafka_heap}, KRaft) "
        f"on 127.0.0.1:{ports.kafka}"
    )
    argv = [str(jdk.java), *java_args, config.KAFKA_MAIN, str(properties)]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
    return procs.start_detached(argv, env, base, layout.log_file("kafka"), layout.pid_file("kafka"))


_LAUNCHERS: dict[str, Callable[[Settings, Echo], int]] = {
    "opensearch": _launch_opensearch,
    "kafka": _launch_kafka,
}


def _failure(settings: Settings, service: str, why: str) -> StackError:
    layout = config.layout_for(settings)
    logs = [layout.log_file(service)]
    if service == "opensearch":
        logs.append(layout.service_dir("opensearch") / "logs" / "bitacora-local.log")
    else:
        logs.append(layout.service_dir("kafka") / "logs" / "server.log")
    shown = "\n".join(f"--- {p} (last lines)\n{procs.tail(p, 25)}" for p in logs if p.is_file())
    return StackError(f"{service} {why}; logs: {', '.join(map(str, logs))}\n{shown}")


def _wait_healthy(settings: Settings, service: str, pid: int, echo: Echo) -> None:
    marker = config.layout_for(settings).marker(service)
    started = time.monotonic()
    deadline = started + START_TIMEOUT_S[service]
    next_note = started + 10
    while time.monotonic() < deadline:
        if _healthy(settings, service):
            echo(f"{service} healthy after {time.monotonic() - started:.1f} s (pid {pid})")
            return
        if not procs.is_alive(pid):
            raise _failure(settings, service, "exited while starting")
        if time.monotonic() >= next_note:  # show life while a busy machine starts a JVM
            echo(f"  waiting for {service} ({time.monotonic() - started:.0f} s)")
            next_note += 10
        time.sleep(0.5)
    procs.terminate(pid, marker, 10)
    raise _failure(settings, service, f"not healthy after {START_TIMEOUT_S[service]:.0f} s")


def _begin(settings: Settings, service: str, echo: Echo) -> int | None:
    """Launch ``service`` unless ours already runs; the new pid, or None if it was running."""
    layout = config.layout_for(settings)
    pid = procs.owned_pid(layout.pid_file(service), layout.marker(service))
    if pid is not None:
        return None
    port = _port(settings, service)
    if health.port_open("127.0.0.1", port):
        raise StackError(
            f"port {port} is taken by a process this stack did not start; stop it, or point "
            f"BITACORA_{'OPENSEARCH_URL' if service == 'opensearch' else 'KAFKA_BOOTSTRAP'} "
            "at it and skip `bitacora stack up`"
        )
    return _LAUNCHERS[service](settings, echo)


def _settle(settings: Settings, service: str, pid: int | None, echo: Echo) -> None:
    layout = config.layout_for(settings)
    if pid is None:
        running = procs.owned_pid(layout.pid_file(service), layout.marker(service))
        if running is None:
            raise _failure(settings, service, "vanished")
        if _healthy(settings, service):
            echo(f"{service} already running (pid {running})")
            return
        pid = running
    _wait_healthy(settings, service, pid, echo)


# --- public API -----------------------------------------------------------------------------


def start_service(settings: Settings, service: str, echo: Echo = _quiet) -> None:
    """Start one service ("opensearch" or "kafka") and wait until healthy; no-op if running."""
    _check_service(service)
    _check_loopback(settings)
    with _locked(settings):
        _settle(settings, service, _begin(settings, service, echo), echo)


def ensure_up(settings: Settings, echo: Echo = _quiet, fresh: bool = False) -> None:
    """Make sure the local OpenSearch and Kafka run and are healthy (idempotent).

    Downloads what is missing, starts both (OpenSearch first: it takes longest) and waits
    for both. ``fresh`` stops them and wipes their data first. Raises StackError with the
    log file names and their last lines when a service does not come up.
    """
    _check_loopback(settings)
    with _locked(settings):
        if fresh:
            _reset_locked(settings, echo)
        pids = {service: _begin(settings, service, echo) for service in config.SERVICES}
        for service in config.SERVICES:
            _settle(settings, service, pids[service], echo)


def stop_service(settings: Settings, service: str, echo: Echo = _quiet) -> bool:
    """Stop one service we started (SIGTERM, SIGKILL after 60 s); False if it was not running."""
    _check_service(service)
    with _locked(settings):
        return _stop_locked(settings, service, echo)


def _stop_locked(settings: Settings, service: str, echo: Echo) -> bool:
    layout = config.layout_for(settings)
    pid = procs.owned_pid(layout.pid_file(service), layout.marker(service))
    if pid is None:
        echo(f"{service} not running")
        return False
    killed = procs.terminate(pid, layout.marker(service), STOP_DEADLINE_S)
    layout.pid_file(service).unlink(missing_ok=True)
    echo(f"{service} stopped (pid {pid}{', killed after the deadline' if killed else ''})")
    return True


def stop(settings: Settings, echo: Echo = _quiet) -> None:
    """Stop both services (Kafka first, so clients see a clean shutdown before storage goes)."""
    with _locked(settings):
        for service in reversed(config.SERVICES):
            _stop_locked(settings, service, echo)


def _reset_locked(settings: Settings, echo: Echo) -> None:
    for service in reversed(config.SERVICES):
        _stop_locked(settings, service, echo)
    layout = config.layout_for(settings)
    for service in config.SERVICES:
        shutil.rmtree(layout.service_dir(service) / "data", ignore_errors=True)
    echo(f"wiped the data under {settings.state_dir}")


def reset(settings: Settings, echo: Echo = _quiet) -> None:
    """Stop both services and delete their data (downloads stay in the cache)."""
    with _locked(settings):
        _reset_locked(settings, echo)


def status(settings: Settings) -> list[ServiceStatus]:
    """Per service: running (our pid alive), pid, port, version last started, health."""
    layout = config.layout_for(settings)
    result = []
    for service in config.SERVICES:
        pid = procs.read_pid(layout.pid_file(service))
        running = pid is not None and procs.is_ours(pid, layout.marker(service))
        version_file = layout.version_file(service)
        version = version_file.read_text().strip() if version_file.is_file() else None
        healthy = running and _healthy(settings, service)
        detail = ""
        if healthy and service == "opensearch":
            detail = f"cluster {health.opensearch_health(settings.opensearch_url)}"
        result.append(
            ServiceStatus(
                service=service,
                running=running,
                pid=pid if running else None,
                port=_port(settings, service),
                version=version,
                healthy=healthy,
                detail=detail,
            )
        )
    return result


def log_paths(settings: Settings) -> dict[str, Path]:
    """The main log file of each service."""
    layout = config.layout_for(settings)
    kafka_logs = layout.service_dir("kafka") / "logs"
    return {
        "opensearch": layout.service_dir("opensearch") / "logs" / "bitacora-local.log",
        "kafka": next(
            (p for p in (kafka_logs / "server.log", layout.log_file("kafka")) if p.is_file()),
            kafka_logs / "server.log",
        ),
    }
