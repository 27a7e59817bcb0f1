"""Kafka headers of an event message: CloudEvents' Kafka protocol binding, binary content mode,
plus bridge's provenance. The message value is the event JSON; the key is the mapping's Kafka
key. Header values are UTF-8 text.
"""

from __future__ import annotations

__all__ = [
    "CE_DATASCHEMA",
    "CE_ID",
    "CE_SOURCE",
    "CE_SPECVERSION",
    "CE_TIME",
    "CE_TYPE",
    "CONTENT_TYPE",
    "FILE_SHA256",
    "FINGERPRINT",
    "OFFSET",
    "RECORD",
    "REDIS_KEY",
    "event_id",
]

CE_SPECVERSION = "ce_specversion"  # "1.0"
CE_ID = "ce_id"  # event_id(): stable for a record of a file, whatever the run
CE_SOURCE = "ce_source"
CE_TYPE = "ce_type"  # mapping name, then the case for a multi-layout file
CE_TIME = "ce_time"  # RFC 3339, when the record was published
CE_DATASCHEMA = "ce_dataschema"  # the record schema's $id (bridge schema)
CONTENT_TYPE = "content-type"  # application/json

FILE_SHA256 = "bridge_file_sha256"  # the source file's SHA-256, lower-case hex
RECORD = "bridge_record"  # the record's 0-based number in the file, decimal
OFFSET = "bridge_offset"  # the record's byte offset in the file, decimal
FINGERPRINT = "bridge_fingerprint"  # the layout fingerprint the record was decoded with
REDIS_KEY = "bridge_redis_key"  # the mapping's Redis key (prefix included); absent when none


def event_id(file_sha256: str, record: int) -> str:
    """The CloudEvents id of record ``record`` of the file whose SHA-256 is ``file_sha256``."""
    return f"{file_sha256}:{record}"
