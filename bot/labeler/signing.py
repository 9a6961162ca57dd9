"""The labeler's signing key and the label encoding it signs.

A label is signed over the DAG-CBOR encoding of its fields without `sig` (with `ver: 1`), hashed
with SHA-256, as a 64-byte compact ECDSA signature in low-S form; subscribers verify it against the
`#atproto_label` key in the labeler's DID document. The key is a secp256k1 (atproto's default) or a
P-256 private key, kept in a file only its owner may read.
"""

from __future__ import annotations

import base64
import os
import stat
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import libipld
from atproto_crypto.consts import P256_CURVE_ORDER, P256_JWT_ALG, SECP256K1_CURVE_ORDER, SECP256K1_JWT_ALG
from atproto_crypto.did import format_did_key
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from bot.config.base import ConfigError


class KeyType(StrEnum):
    SECP256K1 = "secp256k1"
    P256 = "p256"


_CURVES: dict[KeyType, tuple[ec.EllipticCurve, int, str]] = {
    KeyType.SECP256K1: (ec.SECP256K1(), SECP256K1_CURVE_ORDER, SECP256K1_JWT_ALG),
    KeyType.P256: (ec.SECP256R1(), P256_CURVE_ORDER, P256_JWT_ALG),
}


@dataclass(frozen=True)
class SigningKey:
    kind: KeyType
    private: ec.EllipticCurvePrivateKey

    @classmethod
    def generate(cls, kind: KeyType) -> SigningKey:
        return cls(kind, ec.generate_private_key(_CURVES[kind][0]))

    @property
    def did_key(self) -> str:
        """The public key as `did:key:z...`: what the DID document's `#atproto_label` names."""
        point = self.private.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return str(format_did_key(_CURVES[self.kind][2], point))

    @property
    def multibase(self) -> str:
        """The public key as the multibase string a PLC `verificationMethods` entry holds."""
        return self.did_key.removeprefix("did:key:")

    def sign(self, data: bytes) -> bytes:
        """64 bytes r||s over SHA-256(data), s in the lower half of the order (atproto refuses the
        other, malleable form)."""
        der = self.private.sign(data, ec.ECDSA(hashes.SHA256()))
        r, s = decode_dss_signature(der)
        order = _CURVES[self.kind][1]
        if s > order // 2:
            s = order - s
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def to_text(self) -> str:
        """`secp256k1:<hex of the 32-byte secret>`: one line, so the file holds nothing else."""
        secret = self.private.private_numbers().private_value.to_bytes(32, "big")
        return f"{self.kind.value}:{secret.hex()}"

    @classmethod
    def from_text(cls, text: str, where: str) -> SigningKey:
        kind_text, _, secret = text.strip().partition(":")
        try:
            kind = KeyType(kind_text)
            value = int.from_bytes(bytes.fromhex(secret), "big")
            if len(secret) != 64 or not 0 < value < _CURVES[kind][1]:
                raise ValueError
        except ValueError:
            raise ConfigError(
                [f"{where} is not a labeler key (want 'secp256k1:<64 hex digits>' or 'p256:…')"]
            ) from None
        return cls(kind, ec.derive_private_key(value, _CURVES[kind][0]))


def key_path(key_file: Path | None, data_dir: Path) -> Path:
    return key_file or data_dir / "labeler.key"


def load_key(path: Path) -> SigningKey:
    """The key in `path`; a ConfigError that names the file when it is missing, readable by others
    (a leaked labeler key lets anyone label as this account), or not a key."""
    try:
        mode = path.stat().st_mode
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise ConfigError([f"no labeler key at {path}: run `modbot bluesky labeler setup` to create one"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"cannot read the labeler key {path}: {exc}"]) from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError([f"the labeler key {path} is readable by others (mode {mode & 0o777:o}); chmod 600 it"])
    return SigningKey.from_text(text, str(path))


def save_key(key: SigningKey, path: Path) -> None:
    """Written to a new file with mode 0600 and moved into place, so no reader ever sees half a key
    and the old one (if any) is replaced whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".new")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(key.to_text() + "\n")
    partial.replace(path)


def unsigned(label: dict[str, Any]) -> bytes:
    """The bytes a label's signature covers: its DAG-CBOR encoding without `sig`."""
    return bytes(libipld.encode_dag_cbor({k: v for k, v in label.items() if k != "sig"}))


def as_json(label: dict[str, Any]) -> dict[str, Any]:
    """A label for a JSON answer (queryLabels): bytes as atproto's `{"$bytes": base64}`."""
    out = dict(label)
    if isinstance(sig := out.get("sig"), bytes):
        out["sig"] = {"$bytes": base64.b64encode(sig).decode().rstrip("=")}
    return out
