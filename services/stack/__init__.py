"""Real Kafka and Elasticsearch as local processes, for machines without a Docker engine."""
