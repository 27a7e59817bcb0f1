"""Sealed copies of rejected records: readable by the operator who holds the private key only.

An audit document of a mapping with protected fields carries the record redacted. For repair,
it may also carry the original sealed to the operator's X25519 public key with a libsodium
sealed box (PyNaCl): an ephemeral key pair per message, X25519 + XSalsa20-Poly1305, so the
pipeline host holds only the public key and cannot open what it sealed, and a stolen bridge
configuration opens nothing. `bridge audit open` opens one with the private key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nacl.exceptions import CryptoError
from nacl.public import PrivateKey, PublicKey, SealedBox

from bridge.errors import BridgeError
from bridge.mapping.model import MappingError, PiiKeySource, Problem

SEAL_ALGORITHM = "libsodium-sealedbox-x25519-xsalsa20poly1305"
KEY_BYTES = 32


class SealError(BridgeError):
    """A sealed copy that cannot be opened (wrong key, damaged, or not this document's)."""


def key_from_text(text: str, what: str) -> bytes:
    """A 32-byte key written as base64 (or 64 hex digits); ValueError names what is wrong."""
    text = text.strip()
    try:
        key = (
            bytes.fromhex(text)
            if len(text) == 2 * KEY_BYTES
            else base64.b64decode(text, validate=True)
        )
    except (ValueError, binascii.Error) as exc:
        raise ValueError(f"the {what} is neither base64 nor hex") from exc
    if len(key) != KEY_BYTES:
        raise ValueError(f"the {what} has {len(key)} bytes; an X25519 key has {KEY_BYTES}")
    return key


def key_id_of(public: bytes) -> str:
    """A label for a public key nobody named: its SHA-256, shortened."""
    return "x25519:" + hashlib.sha256(public).hexdigest()[:16]


@dataclass(frozen=True)
class Sealer:
    """Seals for one public key; holds no secret."""

    public_key: bytes = field(repr=False)
    key_id: str

    def seal(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        plain = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        box = SealedBox(PublicKey(self.public_key)).encrypt(plain)
        return {
            "algorithm": SEAL_ALGORITHM,
            "key_id": self.key_id,
            "ciphertext_base64": base64.b64encode(box).decode("ascii"),
        }


def load_sealer(source: PiiKeySource, environ: Mapping[str, str] | None = None) -> Sealer:
    """The mapping's seal key (``audit.seal_key``) from its environment variable or file."""
    env = os.environ if environ is None else environ
    pointer = "/audit/seal_key"
    if source.env is not None:
        text = env.get(source.env, "")
        if not text:
            raise MappingError(
                [Problem(pointer + "/env", f"environment variable {source.env} is not set")]
            )
    else:
        assert source.file is not None
        try:
            text = Path(source.file).read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise MappingError(
                [Problem(pointer + "/file", f"cannot read the public key file: {exc}")]
            ) from exc
    try:
        public = key_from_text(text, "audit seal key")
    except ValueError as exc:
        raise MappingError([Problem(pointer, str(exc))]) from exc
    return Sealer(public, source.key_id or key_id_of(public))


def open_sealed(sealed: Mapping[str, Any], private_key: bytes) -> dict[str, Any]:
    """The payload of a sealed copy; SealError when this key does not open it."""
    if sealed.get("algorithm") != SEAL_ALGORITHM:
        raise SealError(f"unknown sealing algorithm {sealed.get('algorithm')!r}")
    try:
        box = base64.b64decode(str(sealed.get("ciphertext_base64", "")), validate=True)
        plain = SealedBox(PrivateKey(private_key)).decrypt(box)
    except (CryptoError, binascii.Error, ValueError) as exc:
        raise SealError(
            f"the sealed copy does not open with this key (sealed for {sealed.get('key_id')!r})"
        ) from exc
    payload: dict[str, Any] = json.loads(plain)
    return payload


def new_key_pair() -> tuple[bytes, bytes]:
    """(private, public) for `bridge audit keygen`."""
    private = PrivateKey.generate()
    return bytes(private), bytes(private.public_key)
