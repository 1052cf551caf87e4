"""``-p tests.helpers.stack_fallback``: ``opensearch_url`` until tests/conftest.py has one.

Only for running these tests by hand; the shared conftest's fixture is the real one.
"""

from __future__ import annotations

import os

import pytest


@pytest.fixture(scope="session")
def opensearch_url() -> str:
    """The stack from `bitacora stack up`, or BITACORA_OPENSEARCH_URL."""
    return os.environ.get("BITACORA_OPENSEARCH_URL", "http://127.0.0.1:9200")
