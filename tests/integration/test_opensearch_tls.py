"""OpenSearch over TLS: CA trust, client certificates, basic auth, hostname verification and
AWS SigV4, end to end through a TLS-terminating proxy (tests/helpers/tls_proxy.py) in front
of the real OpenSearch. Every client goes through bitacora/clients.py: the bulk indexer and
``status`` (aiohttp), ``search`` (opensearch-py)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from opensearchpy import OpenSearch
from opensearchpy import exceptions as os_exc
from pydantic import SecretStr

from bench.services import run_id
from bitacora import clients
from bitacora.processors.storage.indexer import BulkIndexer
from bitacora.search.client import make_client
from bitacora.settings import Settings
from bitacora.status import count_documents
from tests.helpers.tls_proxy import Pki, make_pki, tls_proxy

pytestmark = pytest.mark.stack

USER, PASSWORD = "ops", "s3cret-pw"
# TLS 1.3: the server refuses a client certificate after the client's side of the handshake.
HANDSHAKE = r"SSL|Connection aborted"
BASIC = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def index(opensearch_url: str) -> Iterator[str]:
    """A plain index of this test, deleted afterwards (directly, not through the proxy)."""
    name = f"h1tls-{run_id()}"
    yield name
    OpenSearch(hosts=[opensearch_url]).indices.delete(index=name, ignore_unavailable=True)


def _secured(pki: Pki, url: str, **changes: object) -> Settings:
    base: dict[str, object] = {
        "opensearch_url": url,
        "opensearch_ca_file": pki.ca.cert,
        "opensearch_client_cert_file": pki.client.cert,
        "opensearch_client_key_file": pki.client.key,
        "opensearch_user": USER,
        "opensearch_password": SecretStr(PASSWORD),
    }
    base.update(changes)
    return Settings(**base)  # type: ignore[arg-type]


async def test_indexing_counting_and_searching_over_mtls_with_basic_auth(
    pki: Pki, opensearch_url: str, index: str
) -> None:
    with tls_proxy(pki, opensearch_url, authorization=BASIC) as proxy:
        settings = _secured(pki, proxy.url)
        docs = [(index, f"d{i}", json.dumps({"n": i}).encode()) for i in range(3)]
        async with BulkIndexer.from_settings(settings) as indexer:
            result = await indexer.index(docs)
        assert (result.indexed, result.rejected) == (3, [])
        client = make_client(settings)
        client.indices.refresh(index=index)
        assert client.count(index=index)["count"] == 3
        assert await count_documents(settings, index) == 3
    assert proxy.seen, "nothing went through the proxy"
    assert {(s.authorization, s.client_subject) for s in proxy.seen} == {
        (BASIC, "organizationName=Bitácora local stack,commonName=client")
    }
    assert all(200 <= s.status < 300 for s in proxy.seen), proxy.seen


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        ({"opensearch_ca_file": None}, "CERTIFICATE_VERIFY_FAILED"),
        ({"opensearch_client_cert_file": None, "opensearch_client_key_file": None}, HANDSHAKE),
        (
            {"opensearch_client_cert_file": "other", "opensearch_client_key_file": "other"},
            HANDSHAKE,
        ),
    ],
    ids=["untrusted-server-ca", "no-client-certificate", "client-certificate-of-another-ca"],
)
async def test_tls_refusals_never_reach_opensearch(
    pki: Pki, opensearch_url: str, changes: dict[str, object], error: str
) -> None:
    resolved = {
        key: (pki.other_client.cert if key.endswith("cert_file") else pki.other_client.key)
        if value == "other"
        else value
        for key, value in changes.items()
    }
    with tls_proxy(pki, opensearch_url, authorization=BASIC) as proxy:
        settings = _secured(pki, proxy.url, **resolved)
        with pytest.raises(os_exc.ConnectionError, match=error):
            make_client(settings).info()
        assert await count_documents(settings, "logs-*") is None
    assert proxy.seen == []


async def test_a_wrong_password_is_refused_by_the_endpoint(pki: Pki, opensearch_url: str) -> None:
    with tls_proxy(pki, opensearch_url, authorization=BASIC) as proxy:
        settings = _secured(pki, proxy.url, opensearch_password=SecretStr("wrong"))
        with pytest.raises(os_exc.AuthenticationException):
            make_client(settings).info()
    assert [s.status for s in proxy.seen] == [401]


async def test_hostname_verification_is_on_by_default(pki: Pki, opensearch_url: str) -> None:
    with tls_proxy(pki, opensearch_url, authorization=BASIC, wrong_host=True) as proxy:
        with pytest.raises(os_exc.ConnectionError, match=r"doesn't match|mismatch"):
            make_client(_secured(pki, proxy.url)).info()
        assert await count_documents(_secured(pki, proxy.url), "logs-*") is None
        assert proxy.seen == []
        unchecked = _secured(pki, proxy.url, opensearch_check_hostname=False)
        assert make_client(unchecked).info()["version"]["distribution"] == "opensearch"
        assert await count_documents(unchecked, "logs-*") is not None
        unverified = _secured(
            pki, proxy.url, opensearch_verify_certs=False, opensearch_ca_file=None
        )
        assert make_client(unverified).info()["version"]["distribution"] == "opensearch"


async def test_aws_sigv4_signs_every_request(
    pki: Pki, opensearch_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    with tls_proxy(pki, opensearch_url, authorization=None) as proxy:
        settings = _secured(
            pki,
            proxy.url,
            opensearch_user=None,
            opensearch_password=None,
            opensearch_aws_region="eu-west-1",
        )
        assert make_client(settings).info()["version"]["distribution"] == "opensearch"
        assert await count_documents(settings, "logs-*") is not None
    assert len(proxy.seen) == 2
    for seen in proxy.seen:
        assert seen.authorization is not None
        assert seen.authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/"), (
            seen.authorization
        )
        assert "/eu-west-1/es/aws4_request" in seen.authorization
        assert "SignedHeaders=host;x-amz-content-sha256;x-amz-date" in seen.authorization


def test_conflicting_connection_settings_are_refused_by_name() -> None:
    with pytest.raises(Exception, match="BITACORA_OPENSEARCH_CLIENT_KEY_FILE needs"):
        clients.opensearch_client(
            Settings(opensearch_url="https://x:9200", opensearch_client_key_file=Path("k"))
        )
