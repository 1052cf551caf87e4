"""deploy/k8s/: every manifest parses, validates against the Kubernetes JSON schemas, and
agrees with Settings (ports, env names, consumer group, topics) and with itself (selectors,
service targets, scale targets, the Fluent Bit output pointing at the collector Service).

Schemas come from the ``kubernetes-validate`` wheel (offline, strict mode: unknown fields
are errors). KEDA's ScaledObject is a custom resource without a shipped schema, so it gets
structural checks instead.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]  # ships no type information
import pytest
import yaml
from pydantic import SecretStr

from bitacora import schema
from bitacora.clients import check_settings
from bitacora.settings import Settings

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
K8S_VERSION = "1.33.0"
NAMESPACE = "bitacora"
PART_OF = "app.kubernetes.io/part-of"
DEFAULTS = Settings()
FIELDS = set(Settings.model_fields)
SECRET_FIELDS = {
    name
    for name, field in Settings.model_fields.items()
    if field.annotation is not None
    and SecretStr in getattr(field.annotation, "__args__", (field.annotation,))
}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding"}
# Kafka's security settings: the transport, SASL and TLS variables Settings knows.
KAFKA_SECURITY = {
    f"BITACORA_{name.upper()}"
    for name in FIELDS
    if name == "kafka_security_protocol" or name.startswith(("kafka_sasl_", "kafka_ssl_"))
}
KAFKA_SECRET = "bitacora-kafka"
IMAGE = "flores-victoria/bitacora"


def _ids(value: object) -> str:
    return value.name if isinstance(value, Path) else ""


def _manifest_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if p.name != "kustomization.yaml")


def _docs(path: Path) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(path.read_text()) if d is not None]


ALL = [(p, d) for p in _manifest_files() for d in _docs(p)]
MAIN = [d for p, d in ALL if p.parent == K8S]  # what `kubectl apply -k` installs


def _one(kind: str, name: str, docs: list[dict[str, Any]] = MAIN) -> dict[str, Any]:
    found = [d for d in docs if d["kind"] == kind and d["metadata"]["name"] == name]
    assert len(found) == 1, f"{kind}/{name}: {len(found)} found"
    return found[0]


def _containers(workload: dict[str, Any]) -> list[dict[str, Any]]:
    spec = workload["spec"]["template"]["spec"]
    return list(spec.get("containers", [])) + list(spec.get("initContainers", []))


def _env_names(workload: dict[str, Any]) -> set[str]:
    return {e["name"] for c in _containers(workload) for e in c.get("env", [])}


def _ports(workload: dict[str, Any]) -> set[tuple[str, int, str]]:
    return {
        (p["name"], p["containerPort"], p.get("protocol", "TCP"))
        for c in _containers(workload)
        for p in c.get("ports", [])
    }


def parse_fluent_bit_conf(text: str) -> list[tuple[str, dict[str, str]]]:
    """Fluent Bit's classic format: ``[SECTION]`` headers, then ``Key Value`` lines."""
    sections: list[tuple[str, dict[str, str]]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            sections.append((line[1:-1].upper(), {}))
            continue
        assert sections, f"key outside a section: {line!r}"
        key, _, value = line.partition(" ")
        assert value.strip(), f"key without a value: {line!r}"
        assert key.lower() not in {k.lower() for k in sections[-1][1]}, f"duplicate key {key}"
        sections[-1][1][key] = value.strip()
    return sections


def _section(
    sections: list[tuple[str, dict[str, str]]], kind: str, name: str | None = None
) -> dict[str, str]:
    found = [
        {k.lower(): v for k, v in body.items()}
        for head, body in sections
        if head == kind and (name is None or body.get("Name") == name)
    ]
    assert len(found) == 1, f"[{kind}] {name}: {len(found)} found"
    return found[0]


def test_manifest_files_exist() -> None:
    names = {p.name for p in _manifest_files()}
    assert {"collector.yaml", "processor.yaml", "setup-job.yaml", "fluent-bit.yaml"} <= names
    assert {"config.yaml", "secret.yaml", "processor-hpa-external.yaml"} <= names


def test_kustomization_lists_every_main_manifest() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    assert kustomization["namespace"] == NAMESPACE
    listed = set(kustomization["resources"])
    assert listed == {p.name for p in _manifest_files() if p.parent == K8S}


@pytest.mark.parametrize(("path", "doc"), ALL, ids=_ids)
def test_every_document_has_identity_and_labels(path: Path, doc: dict[str, Any]) -> None:
    assert isinstance(doc.get("apiVersion"), str)
    assert isinstance(doc.get("kind"), str)
    meta = doc["metadata"]
    assert re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", meta["name"]), meta["name"]
    assert meta["labels"][PART_OF] == "bitacora"
    if doc["kind"] not in CLUSTER_SCOPED:
        assert meta["namespace"] == NAMESPACE, f"{path.name}: {doc['kind']}"


# KEDA's ScaledObject has no shipped schema: test_keda_scaled_object checks it.
BUILTIN = [(p, d) for p, d in ALL if not d["apiVersion"].startswith("keda.sh/")]


@pytest.mark.parametrize(
    ("path", "doc"), BUILTIN, ids=lambda v: v.name if isinstance(v, Path) else ""
)
def test_schema_valid(path: Path, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_schema_validation_catches_mistakes() -> None:
    doc = _one("Deployment", "bitacora-collector")
    bad = {**doc, "spec": {**doc["spec"], "replica": 2}}  # typo: unknown field
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(bad, K8S_VERSION, strict=True)


def test_no_duplicate_objects() -> None:
    keys = [(d["kind"], d["metadata"]["name"]) for p, d in ALL if p.parent == K8S]
    assert len(keys) == len(set(keys))


def test_workload_selectors_match_their_templates() -> None:
    workloads = [d for d in MAIN if d["kind"] in {"Deployment", "DaemonSet", "StatefulSet"}]
    assert len(workloads) == 3
    for w in workloads:
        labels = w["spec"]["template"]["metadata"]["labels"]
        assert w["spec"]["selector"]["matchLabels"].items() <= labels.items(), w["metadata"]["name"]
        assert labels[PART_OF] == "bitacora"


def test_collector_ports_equal_settings_defaults() -> None:
    collector = _one("Deployment", "bitacora-collector")
    assert _ports(collector) == {
        ("forward", DEFAULTS.forward_port, "TCP"),
        ("heartbeat", DEFAULTS.forward_port, "UDP"),
        ("http", DEFAULTS.http_port, "TCP"),
        ("otlp-http", DEFAULTS.otlp_http_port, "TCP"),
        ("otlp-grpc", DEFAULTS.otlp_grpc_port, "TCP"),
        ("syslog", DEFAULTS.syslog_port, "TCP"),
        ("syslog-udp", DEFAULTS.syslog_port, "UDP"),
    }
    (container,) = collector["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["bitacora", "collector"]
    assert "cpu" in container["resources"]["requests"]  # the HPA needs a CPU request


def test_collector_service_targets_the_collector_pods() -> None:
    service = _one("Service", "bitacora-collector")
    collector = _one("Deployment", "bitacora-collector")
    pod_labels = collector["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    by_name = {name: (port, proto) for name, port, proto in _ports(collector)}
    exposed = {
        (p["port"], p["protocol"], by_name[p["targetPort"]]) for p in service["spec"]["ports"]
    }
    assert exposed == {
        (DEFAULTS.forward_port, "TCP", (DEFAULTS.forward_port, "TCP")),
        (DEFAULTS.forward_port, "UDP", (DEFAULTS.forward_port, "UDP")),
        (DEFAULTS.http_port, "TCP", (DEFAULTS.http_port, "TCP")),
        (DEFAULTS.otlp_http_port, "TCP", (DEFAULTS.otlp_http_port, "TCP")),
        (DEFAULTS.otlp_grpc_port, "TCP", (DEFAULTS.otlp_grpc_port, "TCP")),
        (DEFAULTS.syslog_port, "TCP", (DEFAULTS.syslog_port, "TCP")),
        (DEFAULTS.syslog_port, "UDP", (DEFAULTS.syslog_port, "UDP")),
    }


def test_collector_hpa_scales_the_collector_on_cpu() -> None:
    hpa = _one("HorizontalPodAutoscaler", "bitacora-collector")
    assert hpa["spec"]["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "bitacora-collector",
    }
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "Resource"
    assert metric["resource"]["name"] == "cpu"
    assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]


def _config() -> dict[str, str]:
    return dict(_one("ConfigMap", "bitacora-config")["data"])


def test_processor_deployment() -> None:
    processor = _one("Deployment", "bitacora-processor")
    assert _ports(processor) == {("http", DEFAULTS.processor_http_port, "TCP")}
    (container,) = processor["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["bitacora", "processor"]
    mounts = [m["mountPath"] for m in container["volumeMounts"]]
    assert any(_config()["BITACORA_PROCESSOR_DATA_DIR"].startswith(m) for m in mounts)


def test_keda_scaled_object() -> None:
    scaled = _one("ScaledObject", "bitacora-processor")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    spec = scaled["spec"]
    assert spec["scaleTargetRef"]["name"] == "bitacora-processor"
    _one("Deployment", spec["scaleTargetRef"]["name"])
    assert set(spec) <= {
        "scaleTargetRef", "pollingInterval", "cooldownPeriod", "idleReplicaCount",
        "minReplicaCount", "maxReplicaCount", "fallback", "advanced", "triggers",
    }  # fmt: skip
    config = _config()
    assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
    assert spec["maxReplicaCount"] <= int(config["BITACORA_TOPIC_PARTITIONS"])
    assert DEFAULTS.app_id == config["BITACORA_APP_ID"]
    assert DEFAULTS.topic_raw == config["BITACORA_TOPIC_RAW"]
    assert DEFAULTS.topic_normalized == config["BITACORA_TOPIC_NORMALIZED"]
    # One trigger per consuming stage; KEDA scales on the larger lag.
    watched = set()
    for trigger in spec["triggers"]:
        assert trigger["type"] == "kafka"
        meta = trigger["metadata"]
        watched.add((meta["consumerGroup"], meta["topic"]))
        assert meta["bootstrapServers"] == config["BITACORA_KAFKA_BOOTSTRAP"]
        # KEDA reads every metadata value as a string.
        assert all(isinstance(v, str) for v in meta.values())
        assert int(meta["lagThreshold"]) > 0
    assert watched == {
        (schema.consumer_group(DEFAULTS.app_id, "normalize"), DEFAULTS.topic_raw),
        (schema.consumer_group(DEFAULTS.app_id, "index"), DEFAULTS.topic_normalized),
    }


def test_external_metric_hpa_alternative() -> None:
    alternatives = [d for p, d in ALL if p.parent.name == "alternatives"]
    hpa = _one("HorizontalPodAutoscaler", "bitacora-processor", alternatives)
    assert hpa["spec"]["scaleTargetRef"]["name"] == "bitacora-processor"
    (metric,) = hpa["spec"]["metrics"]
    assert metric["type"] == "External"
    selector = metric["external"]["metric"]["selector"]["matchLabels"]
    group = schema.consumer_group(DEFAULTS.app_id, "normalize")
    assert selector == {"consumergroup": group, "topic": DEFAULTS.topic_raw}


def test_setup_job_runs_bitacora_setup() -> None:
    job = _one("Job", "bitacora-setup")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["bitacora", "setup"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] in {"OnFailure", "Never"}


def test_bitacora_env_names_are_settings_fields_and_secrets_stay_in_the_secret() -> None:
    config = _config()
    secret = _one("Secret", "bitacora-secrets")["stringData"]
    names = set(config) | set(secret)
    for doc in MAIN:
        if doc["kind"] in {"Deployment", "DaemonSet", "Job"}:
            names |= {n for n in _env_names(doc) if n.startswith("BITACORA_")}
            for c in _containers(doc):
                for source in c.get("envFrom", []):
                    ref = source.get("configMapRef") or source.get("secretRef")
                    assert ref["name"] in {"bitacora-config", "bitacora-secrets"}
    for name in names:
        assert name.startswith("BITACORA_"), name
        assert name.removeprefix("BITACORA_").lower() in FIELDS, name
    secret_names = {n.removeprefix("BITACORA_").lower() for n in secret}
    assert secret_names <= SECRET_FIELDS
    assert not ({n.removeprefix("BITACORA_").lower() for n in config} & SECRET_FIELDS)
    # The values parse as Settings (types, bounds, extra=forbid).
    values = {n.removeprefix("BITACORA_").lower(): v for n, v in {**config, **secret}.items()}
    parsed = Settings(**values)
    assert parsed.forward_port == DEFAULTS.forward_port
    assert parsed.http_port == DEFAULTS.http_port
    assert parsed.processor_http_port == DEFAULTS.processor_http_port


def test_fluent_bit_rbac() -> None:
    role = _one("ClusterRole", "bitacora-fluent-bit")
    (rule,) = role["rules"]
    assert set(rule["resources"]) == {"namespaces", "pods"}
    assert set(rule["verbs"]) == {"get", "list", "watch"}
    binding = _one("ClusterRoleBinding", "bitacora-fluent-bit")
    assert binding["roleRef"]["name"] == "bitacora-fluent-bit"
    (subject,) = binding["subjects"]
    account = _one("ServiceAccount", subject["name"])
    assert subject["namespace"] == account["metadata"]["namespace"]
    daemonset = _one("DaemonSet", "fluent-bit")
    assert daemonset["spec"]["template"]["spec"]["serviceAccountName"] == subject["name"]


def test_fluent_bit_config() -> None:
    daemonset = _one("DaemonSet", "fluent-bit")
    pod = daemonset["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"].rstrip("/"): m["name"] for m in container["volumeMounts"]}
    (arg,) = container["args"]
    conf_path = Path(arg.removeprefix("--config="))
    config_map_name = volumes[mounts[str(conf_path.parent)]]["configMap"]["name"]
    text = _one("ConfigMap", config_map_name)["data"][conf_path.name]
    sections = parse_fluent_bit_conf(text)

    service = _section(sections, "SERVICE")
    storage_path = service["storage.path"]
    assert any(
        storage_path.startswith(m + "/") and "hostPath" in volumes[n] for m, n in mounts.items()
    )
    assert service["health_check"] == "On"

    tail = _section(sections, "INPUT", "tail")
    assert tail["path"] == "/var/log/containers/*.log"
    assert tail["multiline.parser"] == "cri"
    assert tail["storage.type"] == "filesystem"
    assert tail["db"].startswith(storage_path.rsplit("/", 2)[0])
    assert "/var/log" in mounts

    kube = _section(sections, "FILTER", "kubernetes")
    assert kube["merge_log"] == "On"
    assert kube["keep_log"] == "Off"
    assert kube["match"] == tail["tag"]

    out = _section(sections, "OUTPUT", "forward")
    collector = _one("Service", "bitacora-collector")
    name, namespace = collector["metadata"]["name"], collector["metadata"]["namespace"]
    assert out["host"] in {name, f"{name}.{namespace}.svc", f"{name}.{namespace}.svc.cluster.local"}
    forward_port = next(p["port"] for p in collector["spec"]["ports"] if p["name"] == "forward")
    assert int(out["port"]) == forward_port == DEFAULTS.forward_port
    assert out["require_ack_response"] == "true"
    assert out["compress"] == "gzip"
    assert int(out["retry_limit"]) > 0
    assert out["storage.total_limit_size"].endswith(("M", "G"))
    assert out["match"] == tail["tag"]

    # Every ${VAR} the config uses is set on the container; the shared key from the Secret.
    env = {e["name"]: e for e in container["env"]}
    used = set(re.findall(r"\$\{([A-Z_]+)\}", text))
    assert used <= set(env), used - set(env)
    shared_key_var = re.fullmatch(r"\$\{([A-Z_]+)\}", out["shared_key"])
    assert shared_key_var is not None
    ref = env[shared_key_var.group(1)]["valueFrom"]["secretKeyRef"]
    secret = _one("Secret", ref["name"])
    assert ref["key"] in secret["stringData"]
    assert ref["key"] == "BITACORA_FORWARD_SHARED_KEY"  # the collector checks the same key


def test_parse_fluent_bit_conf_rejects_garbage() -> None:
    with pytest.raises(AssertionError):
        parse_fluent_bit_conf("Name tail\n")
    with pytest.raises(AssertionError):
        parse_fluent_bit_conf("[INPUT]\n    Name\n")
    assert parse_fluent_bit_conf("[INPUT]\n  Name tail\n  # c\n") == [("INPUT", {"Name": "tail"})]


def test_health_check_cronjob_pipes_its_script_into_bitacora_send(tmp_path: Path) -> None:
    import subprocess

    from bitacora.processors.normalize.parsers.healthcheck import parse_health_check

    cron = _one("CronJob", "bitacora-health-check")
    assert cron["spec"]["schedule"] == "*/5 * * * *"
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"][-1] == (
        "sh /health/health-check.sh 2>&1 | bitacora send --service health-check"
    )
    assert {s.get("configMapRef", s.get("secretRef"))["name"] for s in container["envFrom"]} == {
        "bitacora-config",
        "bitacora-secrets",
    }
    (volume,) = [v for v in pod["volumes"] if "configMap" in v]
    script = _one("ConfigMap", volume["configMap"]["name"])["data"]["health-check.sh"]
    # The script's lines are health-check lines the normalizer understands.
    (tmp_path / "up").write_text("fine")
    targets = f"up-svc=file://{tmp_path}/up down-svc=file://{tmp_path}/missing"
    done = subprocess.run(
        ["sh", "-c", script],
        env={"HEALTH_TARGETS": targets, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert [parse_health_check(line) for line in lines] == [
        {"service": "up-svc", "status": "ok", "detail": "(ok)"},
        {"service": "down-svc", "status": "fail", "detail": lines[1].split("FAIL ", 1)[1]},
    ]
    assert lines[1].startswith("down-svc: FAIL ")


def _pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    spec = workload["spec"]
    if workload["kind"] == "CronJob":
        spec = spec["jobTemplate"]["spec"]
    pod: dict[str, Any] = spec["template"]["spec"]
    return pod


def _bitacora_containers() -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(pod spec, container) of every container running Bitácora's image."""
    found = []
    for doc in MAIN:
        if doc["kind"] in {"Deployment", "DaemonSet", "StatefulSet", "Job", "CronJob"}:
            pod = _pod_spec(doc)
            for container in pod["containers"] + pod.get("initContainers", []):
                if container["image"].partition(":")[0] == IMAGE:
                    found.append((pod, container))
    return found


def test_the_kafka_security_variables_are_those_the_readme_lists() -> None:
    readme = (K8S.parents[1] / "README.md").read_text()
    section = readme.split("## Deploying to production", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"BITACORA_KAFKA_[A-Z_]+", section)) - {"BITACORA_KAFKA_BOOTSTRAP"}
    assert listed == KAFKA_SECURITY
    assert len(KAFKA_SECURITY) == 9


def test_every_bitacora_container_takes_kafka_security_from_one_secret() -> None:
    secret = _one("Secret", KAFKA_SECRET)["stringData"]
    assert {n for n in secret if n.startswith("BITACORA_")} == KAFKA_SECURITY
    assert not KAFKA_SECURITY & set(_config())  # the Secret is the one place
    containers = _bitacora_containers()
    assert {c["name"] for _pod, c in containers} == {
        "collector",
        "processor",
        "setup",
        "health-check",
    }
    for pod, container in containers:
        refs = {
            e["name"]: e["valueFrom"]["secretKeyRef"]
            for e in container.get("env", [])
            if "secretKeyRef" in e.get("valueFrom", {})
        }
        for name in sorted(KAFKA_SECURITY):
            # optional: a shop deletes what its brokers do not use; the variable is unset.
            assert refs.get(name) == {"name": KAFKA_SECRET, "key": name, "optional": True}, (
                f"{container['name']}: {name}"
            )
        # The *FILE variables name files the container has: the Secret's own, mounted.
        volumes = {v["name"]: v for v in pod["volumes"]}
        mounted = {}
        for mount in container["volumeMounts"]:
            source = volumes[mount["name"]].get("secret", {})
            if source.get("secretName") == KAFKA_SECRET:
                assert source["optional"] is True
                for item in source["items"]:
                    mounted[f"{mount['mountPath']}/{item['path']}"] = item["key"]
        files = {n: v for n, v in secret.items() if n.endswith("FILE")}
        assert len(files) == 3
        for name, path in files.items():
            assert mounted.get(path) in secret, f"{container['name']}: {name}={path}"


def test_the_kafka_secret_example_is_a_coherent_sasl_ssl_setup() -> None:
    secret = _one("Secret", KAFKA_SECRET)["stringData"]
    values = {
        n.removeprefix("BITACORA_").lower(): v for n, v in secret.items() if n in KAFKA_SECURITY
    }
    settings = Settings(**values)
    check_settings(settings)  # e.g. SASL with a user and password, a key with its cert
    assert settings.kafka_security_protocol == "SASL_SSL"
    assert settings.kafka_ssl_check_hostname is True
    for key in ("ca.crt", "client.crt"):
        assert secret[key].startswith("-----BEGIN CERTIFICATE-----\n")
    assert secret["client.key"].startswith("-----BEGIN PRIVATE KEY-----\n")
