"""OpenSearch storage: index templates, bulk indexing, dead letters, ``bitacora setup``.

Pure core: ``templates`` (template bodies), ``bulk`` (bodies, response classification,
backoff), ``deadletter`` (dead-letter records), ``ism`` (the retention policy's identity).
Thin shells: ``indexer.BulkIndexer`` (aiohttp on ``_bulk``), ``setup.setup`` (Kafka admin
and OpenSearch REST).
"""
