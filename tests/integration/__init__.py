"""Integration tests against the real Kafka and Redis started by `scripts/services up`."""
