"""Compare every EBCDIC table of bridge/codepages.py with IBM's CCSID mapping, byte by byte.

IBM's mappings come from ICU's ``ibm-NNN`` converters (ICU ships IBM's published tables), read
through ``uconv`` from Debian's icu-devtools, installed with apt-get when missing (as root). Each
byte is converted alone with ``--callback stop``, so a byte without a character is ``None`` on
both sides. Prints every difference and exits 1 when there is one; docs/codepages.md lists the
differences from Python's codecs that bridge corrects.

    .venv/bin/python scripts/codepage_audit.py
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

from bridge.codepages import CODEPAGES, decode_table, is_ebcdic


def ensure_uconv() -> str:
    found = shutil.which("uconv")
    if found:
        return found
    if os.geteuid() != 0:
        sys.exit("uconv is missing; run `sudo apt-get install -y icu-devtools`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in (
        ["apt-get", "-o", "DPkg::Lock::Timeout=300", "update", "-q"],
        ["apt-get", "-o", "DPkg::Lock::Timeout=300", "install", "-y", "-q", "icu-devtools"],
    ):
        subprocess.run(cmd, check=True, env=env, capture_output=True)
    return shutil.which("uconv") or sys.exit("apt-get installed icu-devtools but uconv is missing")


def ibm_table(uconv: str, codepage: str) -> list[str | None]:
    converter = "ibm-" + codepage.removeprefix("cp").lstrip("0")
    table: list[str | None] = []
    for byte in range(256):
        out = subprocess.run(
            [uconv, "--callback", "stop", "-f", converter, "-t", "UTF-32BE"],
            input=bytes([byte]),
            capture_output=True,
            check=False,  # a byte without a character fails the conversion: that is the answer
        )
        ok = out.returncode == 0 and len(out.stdout) == 4
        table.append(chr(int.from_bytes(out.stdout, "big")) if ok else None)
    return table


def show(char: str | None) -> str:
    return "none" if char is None else f"U+{ord(char):04X}"


def main() -> int:
    uconv = ensure_uconv()
    differences = 0
    for codepage in (cp for cp in CODEPAGES if is_ebcdic(cp)):
        ours, ibm = decode_table(codepage), ibm_table(uconv, codepage)
        for byte in range(256):
            if ours[byte] != ibm[byte]:
                differences += 1
                print(f"{codepage} X'{byte:02X}': bridge {show(ours[byte])}, IBM {show(ibm[byte])}")
    print(f"{differences} difference(s) from IBM's CCSID tables", file=sys.stderr)
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
