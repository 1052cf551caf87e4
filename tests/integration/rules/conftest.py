"""Fixtures of the ElastAlert2 differential suites: ElastAlert2 2.19's own virtualenv and a
fresh index of the real OpenSearch holding the events both sides read."""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from opensearchpy import OpenSearch

from tests.helpers.tls_proxy import Pki, make_pki
from tests.integration.rules.elastalert2_support import ROOT, VENV


@pytest.fixture(scope="module")
def elastalert2() -> Path:
    """``elastalert-test-rule`` of ``.venv-elastalert2`` (built by scripts/elastalert2-venv)."""
    subprocess.run([str(ROOT / "scripts" / "elastalert2-venv")], check=True, timeout=1200)
    return VENV / "bin" / "elastalert-test-rule"


@pytest.fixture
def index(opensearch_url: str) -> Iterator[tuple[OpenSearch, str]]:
    """A fresh index mapping strings as keywords; deleted afterwards."""
    client = OpenSearch(hosts=[opensearch_url], timeout=60)
    name = f"bitacora-test-ea2diff-{uuid.uuid4().hex[:10]}"
    client.indices.create(
        index=name,
        body={
            "mappings": {
                "dynamic_templates": [
                    {"text": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}}
                ],
                "properties": {"@timestamp": {"type": "date"}, "message": {"type": "text"}},
            }
        },
    )
    yield client, name
    client.indices.delete(index=name)


@pytest.fixture
def writeback(opensearch_url: str) -> Iterator[str]:
    """A fresh name for ElastAlert2's five writeback indices (and prefix of more names);
    every index under it is deleted afterwards."""
    name = f"bitacora-test-ea2wb-{uuid.uuid4().hex[:10]}"
    yield name
    client = OpenSearch(hosts=[opensearch_url], timeout=60)
    for created in client.indices.get(index=f"{name}*"):  # by exact name: no wildcard delete
        client.indices.delete(index=created)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    """An HTTP client session for the destinations under test."""
    async with aiohttp.ClientSession() as client:
        yield client


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A CA with server and client certificates (tests.helpers.tls_proxy), per module."""
    return make_pki(tmp_path_factory.mktemp("pki"))
