"""bridge: COBOL/VSAM records to validated JSON events on Kafka."""

__version__ = "0.1.0"
