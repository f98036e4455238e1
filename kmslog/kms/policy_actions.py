"""KMS action names and the patterns of ``Action``/``NotAction`` expanded to them.

Wildcards are expanded against a fixed list so that ``kms:Gen*`` and ``kms:GenerateDataKey``
compare as sets (a diff of two policies then names the operations a change added).
A literal ``kms:`` name missing from the list (an operation newer than this list) is kept
as written, lower-cased, so it is never lost; patterns of other services expand to nothing,
because a key policy grants only KMS operations.
"""

from __future__ import annotations

import re
from functools import lru_cache

KMS_OPERATIONS: tuple[str, ...] = (
    "CancelKeyDeletion", "ConnectCustomKeyStore", "CreateAlias", "CreateCustomKeyStore",
    "CreateGrant", "CreateKey", "Decrypt", "DeleteAlias", "DeleteCustomKeyStore",
    "DeleteImportedKeyMaterial", "DeriveSharedSecret", "DescribeCustomKeyStores",
    "DescribeKey", "DisableKey", "DisableKeyRotation", "DisconnectCustomKeyStore",
    "EnableKey", "EnableKeyRotation", "Encrypt", "GenerateDataKey", "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext", "GenerateDataKeyWithoutPlaintext", "GenerateMac",
    "GenerateRandom", "GetKeyPolicy", "GetKeyRotationStatus", "GetParametersForImport",
    "GetPublicKey", "ImportKeyMaterial", "ListAliases", "ListGrants", "ListKeyPolicies",
    "ListKeyRotations", "ListKeys", "ListResourceTags", "ListRetirableGrants", "PutKeyPolicy",
    "ReEncryptFrom", "ReEncryptTo", "ReplicateKey", "RetireGrant", "RevokeGrant",
    "RotateKeyOnDemand", "ScheduleKeyDeletion", "Sign", "SynchronizeMultiRegionKey",
    "TagResource", "UntagResource", "UpdateAlias", "UpdateCustomKeyStore",
    "UpdateKeyDescription", "UpdatePrimaryRegion", "Verify", "VerifyMac",
)  # fmt: skip

ALL_ACTIONS: frozenset[str] = frozenset(f"kms:{name}" for name in KMS_OPERATIONS)

GRANT_OPERATIONS: frozenset[str] = frozenset(
    {"kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"}
)
"""The operations for which KMS sets ``kms:GrantIsForAWSResource`` in the request."""

_BY_LOWER = {name.lower(): name for name in ALL_ACTIONS}


@lru_cache(maxsize=1024)
def expand(pattern: str) -> frozenset[str]:
    """The KMS operations one action pattern names (case-insensitive, ``*`` and ``?``)."""
    low = pattern.lower()
    if low == "*":
        return ALL_ACTIONS
    if not low.startswith("kms:"):
        return frozenset()
    if "*" not in low and "?" not in low:
        return frozenset({_BY_LOWER.get(low, low)})
    regex = re.compile(
        "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in low)
    )
    return frozenset(name for lower, name in _BY_LOWER.items() if regex.fullmatch(lower))


def expand_all(patterns: tuple[str, ...]) -> frozenset[str]:
    found: set[str] = set()
    for pattern in patterns:
        found |= expand(pattern)
    return frozenset(found)


def statement_actions(
    actions: tuple[str, ...] | None, not_actions: tuple[str, ...] | None
) -> frozenset[str]:
    """``Action`` expanded, or every known operation but those ``NotAction`` names."""
    if actions is not None:
        return expand_all(actions)
    return ALL_ACTIONS - expand_all(not_actions or ())
