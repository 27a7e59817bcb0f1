"""A mapping compiled once: the immutable program the record stage runs.

``load_program(path, environ=...)`` loads a mapping and its copybooks, refuses it when
``mapping lint`` finds errors, loads the PII key (the only place it is loaded) and compiles one
:class:`CaseProgram` per case (the single one of a mapping without a discriminator): the layout
and decode options, the mapping bound to the layout, the record schema and its jsonschema
validator, the C check plan, the C event plan and its keys-only twin, and why a C plan was
refused (the case then validates or maps in Python, warned once at load). Decoders own output
buffers, so they are made from a program per run; the program itself never changes.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.copybook.layout import Layout
from bridge.decode.discriminator import DiscriminatorDecoder
from bridge.decode.framing import RecordSpan, frame
from bridge.decode.native import NativeDecoder
from bridge.decode.verdict import DecodeOptions
from bridge.mapping.apply import Mapper
from bridge.mapping.check_plan import CheckPlan, NativeUnsupported, ValidatingDecoder
from bridge.mapping.event_plan import EmitUnsupported, EventPlan
from bridge.mapping.keys import MessageKey
from bridge.mapping.lint import errors, load_checked, select_layouts
from bridge.mapping.model import (
    MappingDoc,
    MappingError,
    PiiKeySource,
    PiiPolicyKind,
    Problem,
    TargetType,
)
from bridge.mapping.plan import Plan
from bridge.mapping.record_schema import case_schemas, schema_id
from bridge.mapping.validate import JsonSchemaValidator, Outcome, map_and_validate

__all__ = ["CaseProgram", "Program", "load_pii_key", "load_program", "pii_key_for"]

log = logging.getLogger(__name__)

MIN_KEY_BYTES = 32  # HMAC-SHA256 keys shorter than the hash output weaken it


@dataclass(frozen=True)
class CaseProgram:
    """One case of a mapping, compiled: what a record of it is judged with."""

    case: str | None
    layout: Layout
    options: DecodeOptions
    plan: Plan  # the mapping bound to the layout
    schema: Mapping[str, Any]  # the clear record schema
    validator: JsonSchemaValidator
    checks: CheckPlan | None  # None: validated in Python
    events: EventPlan | None  # None: mapped in Python
    keys: EventPlan | None  # the message keys' fields alone (None: no keys, or refused)
    refused: tuple[str, ...] = ()  # why a C plan was refused

    def publishes(self, keyed: bool) -> bool:
        """Whether C writes this case's events (and, for a ``keyed`` mapping, their keys)."""
        return self.events is not None and (self.keys is not None or not keyed)

    def decoder(self) -> NativeDecoder:
        """A decoder for this case's records: validating in C when its checks compiled."""
        if self.checks is not None:
            return ValidatingDecoder(self.checks)
        return NativeDecoder(self.layout, self.options)


@dataclass(frozen=True)
class Program:
    mapping: MappingDoc
    layouts: tuple[Layout, ...]
    mapper: Mapper  # the one Python mapper: the fallback and the C event plan's oracle
    cases: Mapping[str | None, CaseProgram]
    kafka_key: MessageKey
    redis_key: MessageKey
    warnings: tuple[Problem, ...] = ()
    pii_key: bytes | None = field(default=None, repr=False)  # the keyed hash's key, if used

    @property
    def schema_id(self) -> str:
        return schema_id(self.mapping)

    def layout(self, case: str | None = None) -> Layout:
        return self.cases[case].layout

    def decode_options(self, case: str | None = None) -> DecodeOptions:
        return self.cases[case].options

    def discriminator_decoder(self) -> DiscriminatorDecoder | None:
        """A decoder of a multi-layout file's discriminator alone, as the first case's record
        names it (lint.py: alike in each); None when it has no fixed place (the record stage
        then finds cases record by record)."""
        disc = self.mapping.discriminator
        assert disc is not None
        first = self.cases[disc.cases[0].name]
        layout = first.layout
        try:
            item = layout.field(disc.source.replace(disc.source.split(".")[0], layout.name, 1))
            return DiscriminatorDecoder(item, layout, first.options)
        except (KeyError, ValueError):
            return None

    def frame(self, buf: bytes | memoryview, **resume: Any) -> Iterator[RecordSpan]:
        """The records of a file's bytes, framed as the mapping says (``resume``: frame's
        start, first_number and block_end)."""
        selected = [p.layout for p in self.cases.values()]
        options = self.mapping.framing.frame_options()
        if options["record_length"] is None and self.mapping.framing.type == "lines":
            # Lines of several record types are padded to the longest record (the meta-schema
            # makes fixed framing state its LRECL); each case reads its own layout's bytes.
            options["record_length"] = max(lay.record_length for lay in selected)
        return frame(
            buf,
            self.mapping.framing.type,
            layout=selected[0],
            codepage=self.mapping.code_page,
            **options,
            **resume,
        )

    def process(
        self,
        decoded: Mapping[str, Any],
        case: str | None = None,
        *,
        record: bytes | None = None,
        record_offset: int | None = None,
    ) -> Outcome:
        """A decoded record mapped and validated in Python."""
        validators = {c: p.validator for c, p in self.cases.items()}
        return map_and_validate(
            self.mapper, validators, decoded, case, record=record, record_offset=record_offset
        )


def load_program(
    path: str | Path,
    *,
    environ: Mapping[str, str] | None = None,
    pii_key: bytes | None = None,
) -> Program:
    """Load, lint and compile a mapping; MappingError lists every error ``mapping lint`` finds.
    ``pii_key``: the keyed hash's key (default: from where the mapping says, in ``environ``)."""
    mapping, layouts, problems = load_checked(path)
    bad = errors(problems)
    if bad:
        raise MappingError(bad)
    if pii_key is None:
        pii_key = pii_key_for(mapping, environ)
    elif not _hashes(mapping):
        pii_key = None
    mapper = Mapper(mapping, layouts, pii_key=pii_key)
    schemas = case_schemas(mapping, layouts, published=False)
    keys = MessageKey(mapping, "kafka"), MessageKey(mapping, "redis")
    selections, _ = select_layouts(mapping, layouts)
    cases = {}
    for sel in selections:
        options = _decode_options(mapping, mapper, sel.case)
        cases[sel.case] = _compile_case(
            mapping, sel.layout, options, mapper.plans[sel.case], schemas[sel.case], pii_key, keys
        )
    warnings = tuple(p for p in problems if p.severity != "error")
    return Program(mapping, layouts, mapper, cases, *keys, warnings, pii_key)


def _decode_options(mapping: MappingDoc, mapper: Mapper, case: str | None) -> DecodeOptions:
    """Decoder options for a record of ``case``: code page, REDEFINES choice, trimming.

    Fields that keep their spaces (trim none) need an untrimmed decode; the mapping then trims
    the others itself, so one decode serves both.
    """
    keep_spaces = any(s.type is TargetType.STRING and s.trim == "none" for s in mapping.fields)
    return DecodeOptions(
        codepage=mapping.code_page,
        trim="none" if keep_spaces else "right",
        redefines=mapper.redefines_for(case),
    )


def _compile_case(
    mapping: MappingDoc,
    layout: Layout,
    options: DecodeOptions,
    plan: Plan,
    schema: Mapping[str, Any],
    pii_key: bytes | None,
    keys: tuple[MessageKey, MessageKey],
) -> CaseProgram:
    """A case's C plans; a refused one is warned about (its records go through Python)."""
    case, refused = plan.case, []
    where = f"record schema {schema_id(mapping)}" + (f" case {case}" if case else "")
    checks = events = key_plan = None
    try:
        checks = CheckPlan(layout, options, plan, schema)
    except NativeUnsupported as exc:
        refused.append(f"C checks: {exc}")
        log.warning(
            "%s: native validation does not cover %s; validating with jsonschema", where, exc
        )
    if checks is not None:  # events are written only for records C validated
        try:
            events = EventPlan(layout, options, plan, pii_key)
        except EmitUnsupported as exc:
            refused.append(f"C events: {exc}")
            log.warning("%s: native events do not cover %s; mapping in Python", where, exc)
    fields = keys[0].fields | keys[1].fields
    if events is not None and fields:
        try:
            key_plan = EventPlan(layout, options, plan, pii_key, only=fields)
        except EmitUnsupported as exc:
            refused.append(f"C keys: {exc}")
            log.warning("%s: native keys do not cover %s; mapping in Python", where, exc)
    return CaseProgram(
        case,
        layout,
        options,
        plan,
        schema,
        JsonSchemaValidator(schema),
        checks,
        events,
        key_plan,
        tuple(refused),
    )


def _hashes(mapping: MappingDoc) -> bool:
    return any(s.protection is PiiPolicyKind.HASH for s in mapping.fields)


def pii_key_for(mapping: MappingDoc, environ: Mapping[str, str] | None = None) -> bytes | None:
    """The keyed hash's key when a field's policy is hash, from where the mapping says."""
    if not _hashes(mapping) or mapping.pii_key is None:
        return None
    return load_pii_key(mapping.pii_key, environ)


def load_pii_key(source: PiiKeySource, environ: Mapping[str, str] | None = None) -> bytes:
    """The HMAC key from an environment variable or a file; never from the mapping itself."""
    env = os.environ if environ is None else environ
    if source.env is not None:
        value = env.get(source.env)
        if not value:
            raise MappingError(
                [Problem("/pii_key/env", f"environment variable {source.env} is not set")]
            )
        key = value.encode()
    else:
        assert source.file is not None
        try:
            key = Path(source.file).read_bytes().rstrip(b"\r\n")
        except OSError as exc:
            raise MappingError(
                [Problem("/pii_key/file", f"cannot read the key file: {exc}")]
            ) from exc
    if len(key) < MIN_KEY_BYTES:
        raise MappingError(
            [Problem("/pii_key", f"the PII key has {len(key)} bytes; at least {MIN_KEY_BYTES}")]
        )
    return key
