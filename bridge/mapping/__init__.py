"""Mappings: from decoded records to validated, PII-safe events.

The document and its checks: model (the mapping document), lint (a mapping against its
copybook: ``bridge mapping check``), scaffold (a default mapping: ``bridge mapping init``),
plan (a mapping bound to one layout), record_schema (the events' JSON Schema).
The program the record stage runs: program (``load_program``: one immutable CaseProgram per
case), check_plan (the C check plan: validation as records decode), event_plan (the C event
plan: published events and their keys), cvalues (what both C plans write), keys (the one
message-key builder).
The Python twin (fallback and test oracle of the C plans): apply (``Mapper.apply``, record ->
event), convert (the conversions and PII policies), paths (addressing in records and events),
validate (jsonschema). Rejections: reasons (violations) and audit (audit documents).
"""
