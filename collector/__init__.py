"""Sources (Fluentd forward, HTTP) and the Kafka publisher. Never imports faust."""
