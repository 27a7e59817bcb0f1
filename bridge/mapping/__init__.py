"""Mappings: from decoded records to validated, PII-safe events (issue 5).

model (the mapping document), plan (a mapping bound to a layout), check (mapping vs its
copybook), init (a default mapping), record_schema (the events' JSON Schema), apply (record
-> event), validate (jsonschema oracle and the fast path), reasons and audit (rejections).
"""
