"""Identifiers the emulator mints: resource IDs, recording IDs (``sid``) and request IDs.

A resource ID is self-describing, like the service's own encrypted one: it carries the App ID,
cname, uid, acquire time, ``resourceExpiredHour``, ``scene`` and a digest of ``startParameter``,
encrypted and sealed with an HMAC keyed per emulator. ``start`` can then answer 433 (expired)
for any old resource without the emulator keeping every acquired resource in memory, and 1001
for a resource ID that was garbled or minted by another emulator.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import random
from collections.abc import Mapping
from typing import Any

import attrs

__all__ = ["IdMinter", "ResourceInfo", "digest"]

_MAC_SIZE = 16
_NONCE_SIZE = 16
_MIN_RAW_SIZE = 176  # with nonce and MAC, 208+ bytes: 278+ base64 characters, like real IDs


@attrs.frozen
class ResourceInfo:
    """What a resource ID says about the ``acquire`` that minted it."""

    resource_id: str
    app_id: str
    cname: str
    uid: str
    acquired_at: float
    expired_hour: int
    scene: int
    start_parameter_digest: str | None


def digest(data: Mapping[str, Any]) -> str:
    """A stable digest of a JSON object, to compare ``startParameter`` with ``start``'s body."""
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _xor(data: bytes, stream: bytes) -> bytes:
    return bytes(a ^ b for a, b in zip(data, stream, strict=False))


class IdMinter:
    """Mints and decodes IDs; ``seed`` makes them reproducible."""

    def __init__(self, seed: int | None = None) -> None:
        self._random: random.Random = random.SystemRandom() if seed is None else random.Random(seed)
        self._key = self._random.randbytes(32)

    def sid(self) -> str:
        """A recording ID: 32 lowercase hex characters."""
        return f"{self._random.getrandbits(128):032x}"

    def request_id(self) -> str:
        """A value for the ``X-Request-ID`` header."""
        return f"{self._random.getrandbits(128):032x}"

    def notice_id(self) -> str:
        """An NCS ``noticeId``."""
        return f"{self._random.getrandbits(128):032x}"

    def new_uid(self) -> str:
        """A random recorder UID, as a failover assigns."""
        return str(self._random.randint(100_000_000, 4_294_967_295))

    def resource_id(
        self,
        *,
        app_id: str,
        cname: str,
        uid: str,
        acquired_at: float,
        expired_hour: int,
        scene: int,
        start_parameter_digest: str | None,
    ) -> str:
        """Seal the acquire facts into an opaque, URL-safe resource ID."""
        fields = {
            "a": app_id,
            "c": cname,
            "u": uid,
            "t": round(acquired_at * 1000),
            "h": expired_hour,
            "s": scene,
            "p": start_parameter_digest,
            "n": f"{self._random.getrandbits(64):016x}",
        }
        data = json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        plain = len(data).to_bytes(4, "big") + data
        plain += self._random.randbytes(max(0, _MIN_RAW_SIZE - len(plain)))
        nonce = self._random.randbytes(_NONCE_SIZE)
        mac = self._mac(nonce, plain)
        raw = nonce + mac + _xor(plain, self._keystream(nonce, len(plain)))
        return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")

    def _mac(self, nonce: bytes, plain: bytes) -> bytes:
        return hmac.new(self._key, nonce + plain, hashlib.sha256).digest()[:_MAC_SIZE]

    def _keystream(self, nonce: bytes, size: int) -> bytes:
        blocks = (size + 31) // 32
        return b"".join(
            hashlib.sha256(self._key + nonce + i.to_bytes(4, "big")).digest() for i in range(blocks)
        )

    def decode_resource_id(self, resource_id: str) -> ResourceInfo | None:
        """Return the facts sealed in ``resource_id``, or None when it is not one of ours."""
        try:
            raw = base64.urlsafe_b64decode(resource_id + "=" * (-len(resource_id) % 4))
        except (binascii.Error, ValueError):
            return None
        if base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") != resource_id:
            return None  # one resource, one spelling: no stray characters or padding bits
        nonce, mac = raw[:_NONCE_SIZE], raw[_NONCE_SIZE : _NONCE_SIZE + _MAC_SIZE]
        cipher = raw[_NONCE_SIZE + _MAC_SIZE :]
        plain = _xor(cipher, self._keystream(nonce, len(cipher)))
        if not hmac.compare_digest(mac, self._mac(nonce, plain)):
            return None
        size = int.from_bytes(plain[:4], "big")
        data = plain[4 : 4 + size]
        fields = json.loads(data)
        return ResourceInfo(
            resource_id=resource_id,
            app_id=fields["a"],
            cname=fields["c"],
            uid=fields["u"],
            acquired_at=fields["t"] / 1000,
            expired_hour=fields["h"],
            scene=fields["s"],
            start_parameter_digest=fields["p"],
        )
