"""bitacora/clients.py: the connection options every Kafka and OpenSearch client gets."""

from __future__ import annotations

from pydantic import SecretStr

from bitacora import clients
from bitacora.settings import Settings

PLAIN = Settings(kafka_bootstrap="k1:9092,k2:9092", opensearch_url="http://os:9200/")


def test_kafka_clients_get_the_brokers() -> None:
    assert clients.kafka_options(PLAIN) == {"bootstrap_servers": "k1:9092,k2:9092"}
    assert clients.faust_broker_options(PLAIN) == {"broker": "kafka://k1:9092,k2:9092"}


async def test_call_site_options_reach_the_client() -> None:
    producer = clients.kafka_producer(PLAIN, client_id="bitacora-x", acks="all")
    assert producer.client._bootstrap_servers == "k1:9092,k2:9092"
    assert producer.client._client_id == "bitacora-x"
    await producer.stop()
    consumer = clients.kafka_consumer(PLAIN, group_id="g")
    assert consumer._group_id == "g"
    await consumer.stop()


async def test_the_opensearch_session_carries_the_credentials() -> None:
    settings = PLAIN.model_copy(
        update={"opensearch_user": "ops", "opensearch_password": SecretStr("s3cret")}
    )
    async with clients.opensearch_session(settings, timeout_s=5) as session:
        assert session.headers["Authorization"] == "Basic b3BzOnMzY3JldA=="
        assert session.timeout.total == 5
    async with clients.opensearch_session(PLAIN) as session:
        assert "Authorization" not in session.headers
    assert clients.opensearch_url(PLAIN) == "http://os:9200"
