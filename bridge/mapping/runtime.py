"""Everything a pipeline needs to run one mapping, loaded and checked once.

``bridge decode --mapping`` (and the Kafka stage) call this: load the mapping, refuse it if
``mapping check`` would, then per record: choose the case, decode with the right options, map,
validate, and either publish the event or write an audit record.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from bridge.copybook.layout import Layout
from bridge.decode.framing import RecordSpan, frame
from bridge.decode.verdict import DecodeOptions, RecordResult
from bridge.mapping.apply import Mapper, load_pii_key, message_key
from bridge.mapping.lint import errors, load_checked, select_layouts
from bridge.mapping.model import MappingDoc, MappingError, PiiPolicyKind, Problem, TargetType
from bridge.mapping.record_schema import case_schemas, schema_id
from bridge.mapping.validate import Outcome, Validator, map_and_validate, validators_for


def document_values(result: RecordResult) -> dict[str, Any]:
    """A decoded record's JSON document as Python values, decimals exact (never floats)."""
    values: dict[str, Any] = json.loads(result.document, parse_float=Decimal)
    return values


@dataclass(frozen=True)
class Runtime:
    mapping: MappingDoc
    layouts: tuple[Layout, ...]
    mapper: Mapper
    validators: Mapping[str | None, Validator]
    warnings: tuple[Problem, ...] = ()
    pii_key: bytes | None = field(default=None, repr=False)  # the keyed hash's key, if used

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        prefer_fast: bool = True,
        pii_key: bytes | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Runtime:
        """Load and check a mapping; MappingError lists every error ``mapping check`` finds."""
        mapping, layouts, problems = load_checked(path)
        bad = errors(problems)
        if bad:
            raise MappingError(bad)
        needs_key = any(s.protection is PiiPolicyKind.HASH for s in mapping.fields)
        if needs_key and pii_key is None and mapping.pii_key is not None:
            pii_key = load_pii_key(mapping.pii_key, environ)
        mapper = Mapper(mapping, layouts, pii_key=pii_key, environ=environ)
        validators = validators_for(
            case_schemas(mapping, layouts, published=False), prefer_fast=prefer_fast
        )
        warnings = tuple(p for p in problems if p.severity != "error")
        return cls(mapping, layouts, mapper, validators, warnings, pii_key if needs_key else None)

    @property
    def schema_id(self) -> str:
        return schema_id(self.mapping)

    def layout(self, case: str | None = None) -> Layout:
        return self._layouts[case]

    @functools.cached_property
    def _layouts(self) -> dict[str | None, Layout]:
        """Each case's layout, chosen once (the record stage asks for it per record)."""
        selections, _ = select_layouts(self.mapping, self.layouts)
        return {s.case: s.layout for s in selections}

    def frame(self, buf: bytes | memoryview, **resume: Any) -> Iterator[RecordSpan]:
        """The records of a file's bytes, framed as the mapping says (``resume``: frame's
        start, first_number and block_end)."""
        selected = list(self._layouts.values())
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

    def decode_options(self, case: str | None = None) -> DecodeOptions:
        """Decoder options for a record of ``case``: code page, REDEFINES choice, trimming.

        Fields that keep their spaces (trim none) need an untrimmed decode; apply then trims
        the others itself, so one decode serves both.
        """
        keep_spaces = any(
            s.type is TargetType.STRING and s.trim == "none" for s in self.mapping.fields
        )
        return DecodeOptions(
            codepage=self.mapping.code_page,
            trim="none" if keep_spaces else "right",
            redefines=self.mapper.redefines_for(case),
        )

    def process(
        self,
        decoded: Mapping[str, Any],
        case: str | None = None,
        *,
        record: bytes | None = None,
        record_offset: int | None = None,
    ) -> Outcome:
        return map_and_validate(
            self.mapper,
            self.validators,
            decoded,
            case,
            record=record,
            record_offset=record_offset,
        )

    def kafka_key(self, event: Mapping[str, Any]) -> str | None:
        return message_key(self.mapping, event, "kafka")

    def redis_key(self, event: Mapping[str, Any]) -> str | None:
        return message_key(self.mapping, event, "redis")
