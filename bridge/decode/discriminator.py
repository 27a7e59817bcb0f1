"""A multi-layout file's discriminator alone, decoded in C for a batch of records.

One plan holding just the discriminator field (``{"d": value}`` per record), so the CLI's
multi-layout decoder (multi.py) and the record stage find each record's case without decoding
every record whole, nor with the reference decoder.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from bridge import _native
from bridge.copybook.layout import Field, Layout
from bridge.decode.native import NativeDecoder
from bridge.decode.plan import Plan, _Builder, _Op
from bridge.decode.verdict import DecodeOptions

__all__ = ["DiscriminatorDecoder"]


class DiscriminatorDecoder(NativeDecoder):
    """Decodes ``item`` (an elementary item at a fixed place; ``layout``: a record holding it)
    of each record. Raises ValueError for an item without a fixed place."""

    def __init__(self, item: Field, layout: Layout, options: DecodeOptions) -> None:
        if item.variable_offset or item.occurs is not None or item.is_group:
            raise ValueError(f"discriminator {item.path}: not at a fixed place")
        options = replace(options, redefines={})  # one item: no REDEFINES choice to make
        b = _Builder(layout, options)
        b.add(_Op(_native.lib.BRIDGE_OP_OPEN_OBJ, layout.root, layout.root.name))
        b.field_op(item, item.path, b'"d":', 0)
        b.close(0, _native.lib.BRIDGE_OP_CLOSE_OBJ)
        super().__init__(layout, options, plan=Plan(layout, options, ops=b.ops, slots=b.slots))
        self.item = item

    def values(self, data: Any, offsets: Sequence[int], lengths: Sequence[int]) -> list[Any]:
        """Each record's discriminator value (decimals exact), or None where it does not
        decode (a record too short for it included)."""
        out: list[Any] = []
        done = 0
        while done < len(offsets):
            batch = self.decode_batch(data, offsets[done:], lengths[done:])
            docs = json.loads(b"[" + b",".join(batch.documents()) + b"]", parse_float=Decimal)
            out.extend(None if i in batch.errors else doc["d"] for i, doc in enumerate(docs))
            done += batch.count
        return out
