"""cffi build script (API, out-of-line mode) for bridge's C core.

setup.py names it in ``cffi_modules``, so ``pip install .`` compiles the core on the target
machine; nothing prebuilt is shipped. The header is the contract: it is declared once, in
``bridge_core.h``, and fed to both cdef and the compiler.
"""

from __future__ import annotations

import os
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent
# setuptools wants source paths relative to the project root.
ROOT = HERE.parent


def _sources() -> list[str]:
    return sorted(os.path.relpath(p, ROOT) for p in HERE.glob("*.c"))


ffibuilder = FFI()
ffibuilder.cdef((HERE / "bridge_core.h").read_text())
ffibuilder.set_source(
    "bridge._bridge_native",
    '#include <stddef.h>\n#include <stdint.h>\n#include "bridge_core.h"\n',
    sources=_sources(),
    include_dirs=[os.path.relpath(HERE, ROOT)],
    libraries=["m"],
    extra_compile_args=["-O3", "-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
)

if __name__ == "__main__":
    ffibuilder.compile(verbose=True)
