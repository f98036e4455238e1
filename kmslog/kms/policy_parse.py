"""A KMS key policy's text → a typed :class:`Policy`, or a :class:`PolicyError`.

CloudTrail logs the policy of ``CreateKey``/``PutKeyPolicy``/``ReplicateKey`` as a JSON
*string* inside ``requestParameters``; whoever called the API chose every byte of it.
:func:`parse_policy` therefore never raises: text larger than KMS accepts, nested deeper
than any policy needs, not JSON, with a repeated member name (parsers disagree on which
copy wins, so the meaning is ambiguous) or with an element of the wrong type comes back
as a :class:`PolicyError` whose ``reason`` says what was wrong.

Names are compared as IAM compares them: condition operators and condition keys
case-insensitively (``kms:callerAccount`` is ``kms:CallerAccount``), action names
case-insensitively. Element names (``Effect``, ``Principal``, …) are accepted in any case
as well; a statement that spells one element twice in different cases is ambiguous and
rejected.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kmslog.decode.jsontext import depth_exceeded

MAX_POLICY_BYTES = 32 * 1024
"""KMS refuses key policies over 32 KB, so nothing larger was ever in force."""

MAX_POLICY_DEPTH = 16
"""A policy nests five levels (document, statements, statement, condition, operator);
the margin is generous, the cap keeps hostile nesting away from the recursive parser."""

MAX_REASON_CHARS = 200


@dataclass(frozen=True)
class PolicyError:
    """Why a policy text could not be read; ``reason`` is plain text for the user."""

    reason: str


@dataclass(frozen=True)
class Principal:
    """One ``Principal`` or ``NotPrincipal`` element.

    ``anyone`` is ``"*"`` or ``{"AWS": "*"}``; ``aws``/``service``/``federated`` keep the
    listed values as given (a ``"*"`` inside a list also sets ``anyone``); ``other`` holds
    the remaining types (``CanonicalUser``) as ``(type, value)``.
    """

    anyone: bool = False
    aws: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()
    other: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Condition:
    """One ``operator → key → values`` entry of a ``Condition`` block.

    ``operator`` is as written; ``base`` is the operator without set qualifier and
    ``IfExists`` suffix, lower-cased (``stringequals``); ``qualifier`` is ``forallvalues``,
    ``foranyvalue`` or ``""``; ``key`` is lower-cased; ``values`` are text (``true`` for a
    JSON true, numbers as written by Python).
    """

    operator: str
    base: str
    qualifier: str
    if_exists: bool
    key: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Statement:
    """One policy statement. Exactly one of ``principal``/``not_principal`` and one of
    ``actions``/``not_actions`` is set; actions are lower-cased."""

    sid: str
    effect: str  # "Allow" or "Deny"
    principal: Principal | None
    not_principal: Principal | None
    actions: tuple[str, ...] | None
    not_actions: tuple[str, ...] | None
    resources: tuple[str, ...]
    conditions: tuple[Condition, ...]


@dataclass(frozen=True)
class Policy:
    version: str
    statements: tuple[Statement, ...]


class _Invalid(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _clip(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in pairs:
        if name in result:
            raise _Invalid(f"member {_clip(name)!r} appears twice in one object")
        result[name] = value
    return result


def _no_constant(name: str) -> Any:
    raise _Invalid(f"{name} is not a JSON number")


def _load(text: str) -> Any:
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) > MAX_POLICY_BYTES:
        raise _Invalid(
            f"policy is {len(encoded)} bytes, more than KMS accepts ({MAX_POLICY_BYTES})"
        )
    deep = depth_exceeded(encoded, MAX_POLICY_DEPTH)
    if deep is not None:
        raise _Invalid(f"nested more than {MAX_POLICY_DEPTH} levels at byte {deep}")
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise _Invalid(f"not JSON: {exc.msg} at character {exc.pos}") from None
    except RecursionError:  # the depth cap makes this unreachable; never let it escape
        raise _Invalid("nested too deep") from None


def _members(obj: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``obj`` keyed by lower-cased member name; two spellings of one name are ambiguous."""
    folded: dict[str, Any] = {}
    for name, value in obj.items():
        low = name.lower()
        if low in folded:
            raise _Invalid(f"{where}: element {_clip(name)!r} given twice")
        folded[low] = value
    return folded


def _strings(value: Any, what: str, scalars: bool = False) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        if isinstance(item, str):
            out.append(item)
        elif scalars and isinstance(item, bool):
            out.append("true" if item else "false")
        elif scalars and isinstance(item, int | float):
            out.append(str(item))
        else:
            raise _Invalid(f"{what} must be text, not {type(item).__name__}")
    if not out:
        raise _Invalid(f"{what} is empty")
    return tuple(out)


def _principal(value: Any, what: str) -> Principal:
    if value == "*":
        return Principal(anyone=True)
    if isinstance(value, str):
        raise _Invalid(f"{what} text other than '*' ({_clip(value)!r})")
    if not isinstance(value, Mapping) or not value:
        raise _Invalid(f"{what} must be '*' or an object of principal types")
    aws: tuple[str, ...] = ()
    service: tuple[str, ...] = ()
    federated: tuple[str, ...] = ()
    other: list[tuple[str, str]] = []
    for kind, raw in _members(value, what).items():
        values = _strings(raw, f"{what} {kind}")
        if kind == "aws":
            aws = values
        elif kind == "service":
            service = values
        elif kind == "federated":
            federated = values
        else:
            other.extend((kind, v) for v in values)
    anyone = "*" in aws or "*" in service or "*" in federated
    return Principal(anyone, aws, service, federated, tuple(other))


def _operator_parts(operator: str) -> tuple[str, str, bool]:
    low = operator.lower()
    qualifier = ""
    if ":" in low:
        qualifier, _, low = low.partition(":")
    if_exists = low.endswith("ifexists") and low != "ifexists"
    if if_exists:
        low = low[: -len("ifexists")]
    return low, qualifier, if_exists


def _conditions(value: Any, where: str) -> tuple[Condition, ...]:
    if not isinstance(value, Mapping):
        raise _Invalid(f"{where}: Condition must be an object")
    found: list[Condition] = []
    for operator, block in value.items():
        if not isinstance(block, Mapping):
            raise _Invalid(f"{where}: condition {_clip(operator)!r} must map keys to values")
        base, qualifier, if_exists = _operator_parts(operator)
        for key, raw in _members(block, f"{where} {operator}").items():
            values = _strings(raw, f"{where} condition {_clip(key)}", scalars=True)
            found.append(Condition(operator, base, qualifier, if_exists, key, values))
    return tuple(found)


def _one_of(members: dict[str, Any], first: str, second: str, where: str) -> tuple[Any, Any]:
    a, b = members.get(first), members.get(second)
    if (a is None) == (b is None):
        raise _Invalid(f"{where}: needs exactly one of {first} / {second}")
    return a, b


def _statement(raw: Any, index: int) -> Statement:
    where = f"statement {index + 1}"
    if not isinstance(raw, Mapping):
        raise _Invalid(f"{where} is not an object")
    members = _members(raw, where)
    sid = members.get("sid", "")
    if not isinstance(sid, str):
        raise _Invalid(f"{where}: Sid must be text")
    where = f"statement {_clip(sid)!r}" if sid else where
    effect = members.get("effect")
    if effect not in ("Allow", "Deny"):
        raise _Invalid(f"{where}: Effect must be Allow or Deny")
    principal, not_principal = _one_of(members, "principal", "notprincipal", where)
    action, not_action = _one_of(members, "action", "notaction", where)
    resource = members.get("resource", members.get("notresource", "*"))
    return Statement(
        sid=sid,
        effect=effect,
        principal=None if principal is None else _principal(principal, "Principal"),
        not_principal=None if not_principal is None else _principal(not_principal, "NotPrincipal"),
        actions=None if action is None else tuple(a.lower() for a in _strings(action, "Action")),
        not_actions=(
            None
            if not_action is None
            else tuple(a.lower() for a in _strings(not_action, "NotAction"))
        ),
        resources=_strings(resource, "Resource"),
        conditions=_conditions(members.get("condition", {}), where),
    )


def parse_policy(text: str) -> Policy | PolicyError:
    """The policy in ``text``, or why it cannot be read. Never raises."""
    if not isinstance(text, str):
        return PolicyError("policy is not text")
    try:
        document = _load(text)
        if not isinstance(document, Mapping):
            raise _Invalid("policy is not a JSON object")
        members = _members(document, "policy")
        version = members.get("version", "")
        if not isinstance(version, str):
            raise _Invalid("Version must be text")
        raw = members.get("statement")
        if raw is None:
            raise _Invalid("policy has no Statement")
        raws = raw if isinstance(raw, list) else [raw]
        if not raws:
            raise _Invalid("Statement is empty")
        return Policy(version, tuple(_statement(r, i) for i, r in enumerate(raws)))
    except _Invalid as exc:
        return PolicyError(exc.reason[:MAX_REASON_CHARS])
