"""OpenSearch storage: index templates, bulk indexing, dead letters, ``bitacora setup``.

Pure core: ``templates`` (template bodies), ``bulk`` (bodies, response classification,
backoff), ``deadletter`` (the dead letters' document ids; the records are bitacora.deadletter),
``ism`` (the retention policy, its identity).
Thin shells: ``indexer.BulkIndexer`` (aiohttp on ``_bulk``), ``setup.setup`` (Kafka admin
and OpenSearch REST).
"""
