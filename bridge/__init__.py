"""bridge: COBOL/VSAM records to validated JSON events on Kafka.

The public API is what this package exports (``__all__``), documented in docs/api.md::

    import bridge

    layout = bridge.load_copybook("copybooks/ACCTMAST.cpy")
    for record in bridge.decode(layout, "copybooks/samples/acctmast.dat"):
        ...

Everything else (the subpackages ``bridge.copybook``, ``bridge.decode``, ``bridge.mapping``,
``bridge.stage``, ``bridge.sinks``, ``bridge.engine``, ``bridge.commands`` and every other
module) is private: its names and signatures may change in any release. The exports load on
first use, so ``import bridge`` (and ``bridge --version``) pays for no C core, jsonschema or
Kafka client.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from bridge.api import (
        Event,
        Mapping,
        Record,
        Rejected,
        decode,
        decode_bytes,
        load_copybook,
        load_mapping,
        replay,
    )
    from bridge.codepages import UnknownCodepageError
    from bridge.config import Config, ConfigError, load_config
    from bridge.copybook.layout import Field, Layout
    from bridge.decode.framing import FramingError
    from bridge.decode.verdict import DecodeOptionsError, FieldError, Reason
    from bridge.engine.engine import ReplayConflictError, Summary
    from bridge.errors import (
        BridgeError,
        CopybookError,
        CopybookNotFoundError,
        Diagnostic,
        InputNotFoundError,
        NativeError,
        RecordNotFoundError,
    )
    from bridge.mapping.model import MappingError, MappingNotFoundError, Problem
    from bridge.sinks.kafka import KafkaFatalError, KafkaUnavailableError

# Public name -> the private module that defines it.
_EXPORTS = {
    "load_copybook": "bridge.api",
    "decode": "bridge.api",
    "decode_bytes": "bridge.api",
    "load_mapping": "bridge.api",
    "replay": "bridge.api",
    "Summary": "bridge.engine.engine",
    "Config": "bridge.config",
    "load_config": "bridge.config",
    "ConfigError": "bridge.config",
    "KafkaUnavailableError": "bridge.sinks.kafka",
    "KafkaFatalError": "bridge.sinks.kafka",
    "ReplayConflictError": "bridge.engine.engine",
    "Record": "bridge.api",
    "Mapping": "bridge.api",
    "Event": "bridge.api",
    "Rejected": "bridge.api",
    "Layout": "bridge.copybook.layout",
    "Field": "bridge.copybook.layout",
    "FieldError": "bridge.decode.verdict",
    "Reason": "bridge.decode.verdict",
    "BridgeError": "bridge.errors",
    "CopybookError": "bridge.errors",
    "CopybookNotFoundError": "bridge.errors",
    "Diagnostic": "bridge.errors",
    "InputNotFoundError": "bridge.errors",
    "NativeError": "bridge.errors",
    "RecordNotFoundError": "bridge.errors",
    "DecodeOptionsError": "bridge.decode.verdict",
    "FramingError": "bridge.decode.framing",
    "MappingError": "bridge.mapping.model",
    "MappingNotFoundError": "bridge.mapping.model",
    "Problem": "bridge.mapping.model",
    "UnknownCodepageError": "bridge.codepages",
}

__all__ = [
    "BridgeError",
    "Config",
    "ConfigError",
    "CopybookError",
    "CopybookNotFoundError",
    "DecodeOptionsError",
    "Diagnostic",
    "Event",
    "Field",
    "FieldError",
    "FramingError",
    "InputNotFoundError",
    "KafkaFatalError",
    "KafkaUnavailableError",
    "Layout",
    "Mapping",
    "MappingError",
    "MappingNotFoundError",
    "NativeError",
    "Problem",
    "Reason",
    "Record",
    "RecordNotFoundError",
    "Rejected",
    "ReplayConflictError",
    "Summary",
    "UnknownCodepageError",
    "__version__",
    "decode",
    "decode_bytes",
    "load_config",
    "load_copybook",
    "load_mapping",
    "replay",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'bridge' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


class _Package(types.ModuleType):
    """The package module, keeping its public functions over same-named subpackages.

    Importing ``bridge.decode.native`` binds the subpackage to ``bridge.decode``; the public
    name is the function ``bridge.decode``, so that binding is dropped (the subpackage stays in
    sys.modules, where ``from bridge.decode.x import y`` finds it).
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, types.ModuleType) and _EXPORTS.get(name) == "bridge.api":
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package
