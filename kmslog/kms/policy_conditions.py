"""What a statement's ``Condition`` block does to *who* may use the key.

Only conditions that certainly narrow the caller are credited. IAM evaluates an entry
against the request context; when the key is absent the entry is false, except for the
negated operators, ``…IfExists`` and ``Null``, which are true (and ``ForAllValues:`` over an
absent or empty key is vacuously true). So:

* a positive ``StringEquals``/``StringEqualsIgnoreCase``/``StringLike``/``ArnEquals``/
  ``ArnLike`` entry, plain or ``ForAnyValue:`` (a single-valued key is a set of one), on an
  identity key restricts callers to its values;
* ``…IfExists`` does **not** restrict: for a key that can be absent (``aws:PrincipalOrgID``
  outside any organisation, ``kms:ViaService`` on a direct call, ``aws:SourceAccount`` when
  no service acts) the caller arranges the absence and the entry holds. Keys that are
  always present would make it restrict, but telling them apart is the mistake posture
  tools made, so the analysis stays on the safe side;
* ``ForAllValues:`` does **not** restrict, for the same reason: an absent key satisfies it;
* negated operators (``StringNotEquals``, ``ArnNotLike``, …) do not restrict *to* anyone:
  "any account but X" is still any account;
* ``Null`` only tests presence, never who;
* a wildcard-only value (``*``) restricts nothing; a partial pattern or a policy variable
  on an account key cannot be resolved offline and is reported as unverified.

Keys the caller controls or that do not concern identity (encryption context, algorithms,
tags, ``aws:SecureTransport``, …) restrict no one. Keys that narrow callers in ways a log
cannot check (``aws:SourceIp``, ``aws:SourceVpce``, ``aws:userid``, …) and unknown keys or
operators are *unverified*: a ``*`` grant carrying one is "conditional (unverified)", not
public, because the condition may well hold it in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kmslog.kms.policy_parse import Condition

_POSITIVE = frozenset(
    {"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike"}
)
_NEGATED = frozenset(
    {"stringnotequals", "stringnotequalsignorecase", "stringnotlike", "arnnotequals", "arnnotlike"}
)
_OTHER_KNOWN = frozenset(
    {
        "numericequals", "numericnotequals", "numericlessthan", "numericlessthanequals",
        "numericgreaterthan", "numericgreaterthanequals", "dateequals", "datenotequals",
        "datelessthan", "datelessthanequals", "dategreaterthan", "dategreaterthanequals",
        "bool", "binaryequals", "ipaddress", "notipaddress", "null",
    }
)  # fmt: skip
KNOWN_OPERATORS = _POSITIVE | _NEGATED | _OTHER_KNOWN

_ACCOUNT_KEYS = frozenset({"kms:calleraccount", "aws:principalaccount"})
_VIA_KEYS = frozenset(
    {"kms:viaservice", "aws:calledvia", "aws:calledviafirst", "aws:calledvialast"}
)
_NOT_IDENTITY_PREFIXES = (
    "kms:encryptioncontext", "kms:encryptionalgorithm", "kms:signingalgorithm",
    "kms:macalgorithm", "kms:messagetype", "kms:keyspec", "kms:keyusage", "kms:keyorigin",
    "kms:keymanager", "kms:keyagreementalgorithm", "kms:multiregion", "kms:requestalias",
    "kms:resourcealiases", "kms:grantoperations", "kms:granteeprincipal",
    "kms:granteeserviceprincipal", "kms:retiringprincipal", "kms:grantconstraint",
    "kms:datakeypairspec", "kms:expirationmodel", "kms:validto", "kms:wrapping",
    "kms:reencrypt", "kms:primaryregion", "kms:replicaregion", "kms:rotationperiodindays",
    "kms:schedulekeydeletion", "kms:bypasspolicylockoutsafetycheck", "kms:customkeystore",
    "kms:cloudhsmclusterid", "kms:xkskey", "kms:recipientattestation", "kms:keyorigin",
    "aws:securetransport", "aws:currenttime", "aws:epochtime", "aws:requestedregion",
    "aws:requesttag/", "aws:resourcetag/", "aws:tagkeys", "aws:useragent", "aws:referer",
    "aws:resourceaccount", "aws:resourceorgid", "aws:resourceorgpaths",
)  # fmt: skip

_ARN_ACCOUNT = re.compile(r"^arn:[a-z0-9-]*:[a-z0-9-]*:[^:]*:(\d{12}):")
_ACCOUNT = re.compile(r"^\d{12}$")

GRANTS_FOR_AWS_RESOURCES = "AWS services (grants for AWS resources)"


@dataclass(frozen=True)
class Restriction:
    """The caller narrowing of one statement's conditions (``None`` = not narrowed).

    ``accounts`` and ``orgs`` are what a caller must belong to; ``source_accounts`` the
    accounts a service principal must act for; ``via`` the services a request must come
    through; ``grant_only`` means only the grant operations can match; ``never`` means no
    request can satisfy the block; ``unverified`` describes entries not evaluated.
    """

    accounts: frozenset[str] | None = None
    orgs: frozenset[str] | None = None
    source_accounts: frozenset[str] | None = None
    via: tuple[str, ...] = ()
    grant_only: bool = False
    never: bool = False
    unverified: tuple[str, ...] = field(default_factory=tuple)

    @property
    def conditional(self) -> bool:
        return bool(self.unverified)


def _narrow(current: frozenset[str] | None, values: frozenset[str]) -> frozenset[str]:
    return values if current is None else current & values


def _describe(cond: Condition) -> str:
    shown = ", ".join(v[:80] for v in cond.values[:3])
    more = f" +{len(cond.values) - 3}" if len(cond.values) > 3 else ""
    return f"{cond.operator[:60]} {cond.key[:80]} = {shown}{more}"


def _restricting(cond: Condition) -> bool:
    return cond.base in _POSITIVE and cond.qualifier in ("", "foranyvalue") and not cond.if_exists


def _accounts_of(cond: Condition) -> frozenset[str] | None:
    """Literal account ids in the values; None when one cannot be resolved."""
    found: set[str] = set()
    for value in cond.values:
        if cond.key in _ACCOUNT_KEYS or cond.key == "aws:sourceaccount":
            match = value if _ACCOUNT.match(value) else None
        else:
            arn = _ARN_ACCOUNT.match(value)
            match = arn.group(1) if arn else None
        if match is None:
            return None
        found.add(match)
    return frozenset(found)


def evaluate(conditions: tuple[Condition, ...]) -> Restriction:
    """The :class:`Restriction` that the AND of ``conditions`` certainly imposes."""
    accounts: frozenset[str] | None = None
    orgs: frozenset[str] | None = None
    sources: frozenset[str] | None = None
    via: list[str] = []
    grant_only = False
    unverified: list[str] = []
    for cond in conditions:
        key = cond.key
        if cond.base not in KNOWN_OPERATORS or cond.qualifier not in (
            "",
            "foranyvalue",
            "forallvalues",
        ):
            unverified.append(_describe(cond))
            continue
        if key == "kms:grantisforawsresource":
            if cond.base == "bool" and not cond.qualifier:
                # The key exists only on the grant operations: elsewhere a plain Bool is false.
                if not cond.if_exists:
                    grant_only = True
                if "true" in (v.lower() for v in cond.values):
                    via.append(GRANTS_FOR_AWS_RESOURCES)
            continue
        if key.startswith(_NOT_IDENTITY_PREFIXES):
            continue
        if key in _VIA_KEYS or key in _ACCOUNT_KEYS or key in (
            "aws:principalarn", "aws:principalorgid", "aws:principalorgpaths",
            "aws:sourceaccount", "aws:sourcearn", "aws:sourceowner",
        ):  # fmt: skip
            if not _restricting(cond) or "*" in cond.values:
                continue  # understood, and restricts no one (see the module docstring)
            if key in _VIA_KEYS:
                via.extend(v[:200] for v in cond.values)
            elif key in ("aws:principalorgid", "aws:principalorgpaths"):
                found = frozenset(v.split("/")[0] for v in cond.values)
                if any("*" in v or "?" in v or "${" in v for v in found):
                    unverified.append(_describe(cond))
                else:
                    orgs = _narrow(orgs, found)
            else:
                resolved = _accounts_of(cond)
                if resolved is None:
                    unverified.append(_describe(cond))
                elif key in ("aws:sourceaccount", "aws:sourcearn", "aws:sourceowner"):
                    sources = _narrow(sources, resolved)
                else:
                    accounts = _narrow(accounts, resolved)
            continue
        unverified.append(_describe(cond))
    never = (accounts is not None and not accounts) or (orgs is not None and not orgs)
    never = never or (sources is not None and not sources)
    return Restriction(
        accounts, orgs, sources, tuple(dict.fromkeys(via)), grant_only, never, tuple(unverified)
    )
