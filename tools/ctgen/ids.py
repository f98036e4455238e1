"""Deterministic identifiers drawn from a seeded ``random.Random``.

Planted scenario events draw from an ``IdSource`` seeded by the scenario's name, so
their ids do not move when background traffic changes.
"""

from __future__ import annotations

import base64
import hashlib
import random

_B32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_HEX = "0123456789abcdef"


def seed_of(*parts: object) -> int:
    """Stable 64-bit seed from any parts (``hash()`` is salted per process; this is not)."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def stable_uuid(*parts: object) -> str:
    """A v4-shaped UUID derived only from ``parts``."""
    return _format_uuid(
        int.from_bytes(hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()[:16], "big")
    )


def _format_uuid(n: int) -> str:
    # Version nibble 4 and variant bits 10, set on the hex text (cheaper than big-int masks).
    h = f"{n:032x}"
    variant = _VARIANT[h[16]]
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


class IdSource:
    """All randomness of one generator stream (ids, choices, jitter)."""

    __slots__ = ("rng",)

    def __init__(self, *seed_parts: object) -> None:
        self.rng = random.Random(seed_of(*seed_parts))

    def uuid(self) -> str:
        return _format_uuid(self.rng.getrandbits(128))

    def access_key(self, prefix: str = "ASIA") -> str:
        choice = self.rng.choice
        return prefix + "".join(choice(_B32) for _ in range(16))

    def unique_string(self, n: int = 16) -> str:
        choice = self.rng.choice
        return "".join(choice(_ALNUM) for _ in range(n))

    def hex(self, n: int) -> str:
        return f"{self.rng.getrandbits(4 * n):0{n}x}"

    def session_token(self) -> str:
        # STS session tokens are long opaque base64 blobs; length dominates record size.
        return "IQoJb3JpZ2luX2VjE" + self.b64(300)

    def b64(self, n: int) -> str:
        """``n`` characters of base64 text."""
        raw = self.rng.getrandbits(6 * n + 6).to_bytes((6 * n + 13) // 8, "big")
        return base64.b64encode(raw).decode()[:n]

    def grant_id(self) -> str:
        return self.hex(64)

    def private_ip(self, prefix: str = "10.0") -> str:
        r = self.rng.randrange
        return f"{prefix}.{r(0, 256)}.{r(1, 255)}"

    def principal_suffix(self) -> str:
        return "".join(self.rng.choice(_B32[:26] + "234567") for _ in range(17))


def principal_id(prefix: str, *parts: object) -> str:
    """IAM unique ids look like ``AROA`` + 17 upper-case base32-ish chars; derive from a name."""
    rng = random.Random(seed_of("principal", *parts))
    return prefix + "".join(rng.choice(_B32) for _ in range(17))


def hex_from(*parts: object, n: int = 17) -> str:
    rng = random.Random(seed_of("hex", *parts))
    return "".join(rng.choice(_HEX) for _ in range(n))
