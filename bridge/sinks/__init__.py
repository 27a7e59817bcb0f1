"""Where judged records go: Kafka (events, audits, progress, summaries) and Redis (state).

All broker and cache I/O lives here, never in the record stage (bridge/stage/). headers (the
Kafka headers every event carries: the contract between the replay engine that writes them
and the consumers, the Redis materializer among them, that read them).
"""
