"""The index role: logs.normalized into OpenSearch data streams (bulk, create-only)."""
