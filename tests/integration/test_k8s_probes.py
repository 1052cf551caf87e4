"""Every probe of deploy/k8s answers: each Bitácora container runs here with its manifest's env.

The manifests' ConfigMap and Secret become the process environment, overriding only what
points at the cluster (Kafka, OpenSearch, the bind host), the ports (free loopback ports,
found through the ``BITACORA_*_PORT`` variable holding the probed container port), and
what isolates this test on the shared stack (app id, topics, one broker's replication).
Variables come from envFrom and from env (values, and keys of a Secret or ConfigMap; an
optional key that is absent leaves its variable unset). Mounted volumes become temporary
folders holding their ConfigMap or Secret files (their ``items`` when listed), and
variables naming a path under a mount point there. Kafka's security Secret is emptied (the
Kafka here is PLAINTEXT); as shipped, it must reach every container as variables and files.
Then every startup, liveness and readiness probe must answer 200 on its port and path, so
no manifest can probe a port nothing opens.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.procs import free_port

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
PROBES = ("startupProbe", "livenessProbe", "readinessProbe")
# Containers whose image is not Bitácora's (their probes target their own servers).
FOREIGN = {"fluent-bit"}
WORKLOADS = {"Deployment", "DaemonSet", "StatefulSet"}
KAFKA_SECRET = "bitacora-kafka"


def _is_kafka_secret(doc: dict[str, Any]) -> bool:
    return doc.get("kind") == "Secret" and doc["metadata"]["name"] == KAFKA_SECRET


def _documents(kafka_secret: bool = False) -> list[dict[str, Any]]:
    """The manifests; Kafka's security Secret emptied unless ``kafka_secret``."""
    docs: list[dict[str, Any]] = []
    for path in sorted(K8S.glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    for doc in docs:
        if not kafka_secret and _is_kafka_secret(doc):
            # The Kafka here is PLAINTEXT: its Secret is emptied, as a shop without a
            # secured Kafka does (every reference to it is optional).
            doc["stringData"] = {}
    return docs


def _containers() -> Iterator[tuple[str, dict[str, Any]]]:
    for doc in _documents():
        if doc["kind"] in WORKLOADS:
            for container in doc["spec"]["template"]["spec"]["containers"]:
                yield doc["metadata"]["name"], container


def _env_from(container: dict[str, Any], docs: list[dict[str, Any]]) -> dict[str, str]:
    """The container's variables: its envFrom sources, then its env entries."""
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in docs if "metadata" in d}
    env: dict[str, str] = {}
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            env.update(by_name[("ConfigMap", source["configMapRef"]["name"])]["data"])
        if "secretRef" in source:
            env.update(by_name[("Secret", source["secretRef"]["name"])]["stringData"])
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = item["value"]
            continue
        ref = item["valueFrom"].get("secretKeyRef") or item["valueFrom"]["configMapKeyRef"]
        kind = "Secret" if "secretKeyRef" in item["valueFrom"] else "ConfigMap"
        values = by_name[(kind, ref["name"])]["stringData" if kind == "Secret" else "data"]
        if ref["key"] in values:
            env[item["name"]] = values[ref["key"]]
        else:  # Kubernetes leaves the variable unset, or refuses to start the pod
            assert ref.get("optional"), f"{item['name']}: {ref['name']} has no {ref['key']}"
    return env


def _mount(
    owner: str, container: dict[str, Any], root: Path, docs: list[dict[str, Any]]
) -> dict[str, str]:
    """Write each mounted ConfigMap/Secret under ``root``; mount path -> local folder."""
    by_name = {(d["kind"], d["metadata"]["name"]): d for d in docs if "metadata" in d}
    (workload,) = [d for d in docs if d["kind"] in WORKLOADS and d["metadata"]["name"] == owner]
    volumes = {v["name"]: v for v in workload["spec"]["template"]["spec"].get("volumes", [])}
    mounts = {}
    for index, mount in enumerate(container.get("volumeMounts", [])):
        local = root / f"mount{index}"
        local.mkdir(parents=True)
        volume = volumes[mount["name"]]
        files: dict[str, str] = {}
        source: dict[str, Any] = {}
        if "configMap" in volume:
            source = volume["configMap"]
            files = by_name[("ConfigMap", source["name"])]["data"]
        elif "secret" in volume:
            source = volume["secret"]
            files = by_name[("Secret", source["secretName"])]["stringData"]
        items = source.get("items") or [{"key": k, "path": k} for k in files]
        for item in items:
            if item["key"] in files:
                (local / item["path"]).write_text(files[item["key"]])
            else:  # an optional source's missing key is no file; else the pod cannot start
                assert source.get("optional"), f"{mount['name']}: no {item['key']}"
        mounts[mount["mountPath"]] = str(local)
    return mounts


def _probed(container: dict[str, Any]) -> list[tuple[str, int, str]]:
    """(probe kind, container port, path) of each httpGet probe."""
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    found = []
    for kind in PROBES:
        probe = container.get(kind)
        if probe is None:
            continue
        assert "httpGet" in probe, f"{container['name']} {kind}: use httpGet on /healthz|/readyz"
        port = probe["httpGet"]["port"]
        found.append(
            (kind, ports[port] if isinstance(port, str) else port, probe["httpGet"]["path"])
        )
    return found


BITACORA = [(owner, c) for owner, c in _containers() if c["name"] not in FOREIGN]


def test_every_container_is_covered() -> None:
    names = {c["name"] for _owner, c in _containers()}
    assert names - FOREIGN == {"collector", "processor"}
    for _owner, container in BITACORA:
        assert container["command"][0] == "bitacora"
        assert {kind for kind, _port, _path in _probed(container)} >= {
            "livenessProbe",
            "readinessProbe",
        }


@pytest.mark.parametrize(("owner", "container"), BITACORA, ids=[o for o, _c in BITACORA])
def test_the_shipped_kafka_secret_reaches_the_container(
    owner: str, container: dict[str, Any], tmp_path: Path
) -> None:
    docs = _documents(kafka_secret=True)
    (secret,) = [d for d in docs if _is_kafka_secret(d)]
    values = secret["stringData"]
    env = _env_from(container, docs)
    kafka = {n: v for n, v in env.items() if n in values}
    assert kafka == {n: v for n, v in values.items() if n.startswith("BITACORA_")}
    mounts = _mount(owner, container, tmp_path, docs)
    # The CA, the client certificate and its key are files where their variables point.
    for name, key in (("CAFILE", "ca.crt"), ("CERTFILE", "client.crt"), ("KEYFILE", "client.key")):
        folder, _, file = env[f"BITACORA_KAFKA_SSL_{name}"].rpartition("/")
        assert (Path(mounts[folder]) / file).read_text() == values[key], name


def _get(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=3) as response:
            status: int = response.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


async def _delete_topics(bootstrap: str, names: list[str]) -> None:
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        mine = [n for n in existing if any(n.startswith(p) for p in names)]
        if mine:
            await admin.delete_topics(mine)
    finally:
        await admin.close()


@pytest.mark.parametrize(("owner", "container"), BITACORA, ids=[o for o, _c in BITACORA])
def test_manifest_probes_answer(
    owner: str,
    container: dict[str, Any],
    kafka_bootstrap: str,
    opensearch_url: str,
    tmp_path: Path,
) -> None:
    docs = _documents()
    env = _env_from(container, docs)
    probed = _probed(container)
    port_vars = {n: int(v) for n, v in env.items() if n.endswith("_PORT")}
    local: dict[int, int] = {}
    for _kind, port, _path in probed:
        names = [n for n, v in port_vars.items() if v == port]
        assert names, f"{owner}: no BITACORA_*_PORT sets the probed port {port}"
        local.setdefault(port, free_port())
    for name, value in port_vars.items():  # the container's other ports: off the defaults
        env[name] = str(local[value] if value in local else free_port())
    unique = f"probe-{uuid.uuid4().hex[:8]}"
    topics = {
        f"BITACORA_TOPIC_{t}": f"{unique}.{t.lower()}"
        for t in ("RAW", "NORMALIZED", "DEADLETTER", "ALERTS")
    }
    mounts = _mount(owner, container, tmp_path, docs)
    for name, value in env.items():
        for mount_path, folder in mounts.items():
            if value == mount_path or value.startswith(mount_path + "/"):
                env[name] = folder + value[len(mount_path) :]
    env.update(
        BITACORA_KAFKA_BOOTSTRAP=kafka_bootstrap,
        BITACORA_OPENSEARCH_URL=opensearch_url,
        BITACORA_BIND_HOST="127.0.0.1",
        BITACORA_APP_ID=unique,
        BITACORA_TOPIC_PARTITIONS="2",
        BITACORA_TOPIC_REPLICATION="1",
        **topics,
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BITACORA_")}
    argv = [sys.executable, "-m", "bitacora", *container["command"][1:], *container.get("args", [])]
    log = (tmp_path / "out.log").open("wb")
    proc = subprocess.Popen(argv, env={**clean, **env}, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        pending = {(port, path) for _kind, port, path in probed}
        while pending:
            assert proc.poll() is None, (tmp_path / "out.log").read_text()[-2000:]
            assert time.monotonic() < deadline, f"{owner}: no 200 from {sorted(pending)}"
            pending = {(p, path) for p, path in pending if _get(local[p], path) != 200}
            time.sleep(0.2)
        metrics_port = local[probed[0][1]]
        assert _get(metrics_port, "/metrics") == 200
        if "BITACORA_RULES_DIR" in env and container["command"][1:] == ["processor"]:
            # The alerting role runs the rules of the mounted ConfigMap (with the Secret's
            # destinations: a rule naming slack loads only with its webhook URL).
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics") as r:
                text = r.read().decode()
            rule_files = list(Path(env["BITACORA_RULES_DIR"]).glob("*.yaml"))
            assert f"bitacora_rules_loaded {float(len(rule_files))}" in text
    finally:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
        asyncio.run(_delete_topics(kafka_bootstrap, [unique]))
