"""The simulated estate: accounts, regions, KMS keys, principals and their workloads.

Everything here is plain data. Record builders (``records``) turn these objects into
CloudTrail records; ``traffic`` turns workloads into background streams.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from tools.ctgen import agents, clock
from tools.ctgen.ids import hex_from, principal_id, seed_of, stable_uuid

Record = dict  # one CloudTrail record (JSON object)


@dataclass(frozen=True)
class Account:
    account_id: str
    name: str
    regions: tuple[str, ...]

    @property
    def home_region(self) -> str:
        return self.regions[0]


@dataclass(frozen=True)
class Key:
    """A KMS key. ``name`` is our label (stable handle in ground truth), not an AWS field."""

    name: str
    account_id: str
    region: str
    key_id: str
    description: str = ""
    origin: str = "AWS_KMS"
    aws_managed: bool = False
    partition: str = "aws"

    @property
    def arn(self) -> str:
        return f"arn:{self.partition}:kms:{self.region}:{self.account_id}:key/{self.key_id}"

    def alias_arn(self, alias: str) -> str:
        return f"arn:{self.partition}:kms:{self.region}:{self.account_id}:{alias}"

    def resource(self) -> dict:
        return {"accountId": self.account_id, "type": "AWS::KMS::Key", "ARN": self.arn}


@dataclass(frozen=True)
class Trail:
    """A CloudTrail trail: where an account's records are delivered from. Its event
    selectors decide which of the account's events reach the logs at all."""

    name: str
    account_id: str
    home_region: str
    bucket: str
    multi_region: bool = True
    partition: str = "aws"

    @property
    def arn(self) -> str:
        region, acct = self.home_region, self.account_id
        return f"arn:{self.partition}:cloudtrail:{region}:{acct}:trail/{self.name}"


def make_key(
    name: str,
    account_id: str,
    region: str,
    *,
    description: str = "",
    origin: str = "AWS_KMS",
    aws_managed: bool = False,
) -> Key:
    """Key whose id derives only from its label, account and region (stable across edits)."""
    return Key(
        name=name,
        account_id=account_id,
        region=region,
        key_id=stable_uuid("kms-key", account_id, region, name),
        description=description,
        origin=origin,
        aws_managed=aws_managed,
    )


@dataclass
class Principal:
    """Someone who calls AWS. ``kind`` is the userIdentity.type it produces.

    kinds: ``AssumedRole`` (role + sessions), ``IAMUser``, ``Root``, ``AWSService``,
    ``AWSAccount`` (a foreign account's role seen from the resource owner's trail).
    Identity dicts are cached per session and shared between records: treat records as
    read-only (use ``copy.deepcopy`` before editing one).
    """

    kind: str
    account_id: str
    name: str
    session_names: tuple[str, ...] = ("session",)
    session_seconds: int = 3600
    mfa: bool = False
    service: str = ""  # AWSService: the invokedBy host
    path: str = ""  # role path, e.g. "aws-reserved/sso.amazonaws.com/"
    _cache: dict = field(default_factory=dict, repr=False, compare=False)
    _sessions: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def arn(self) -> str:
        """The IAM ARN (role ARN for roles; user/root ARN otherwise)."""
        if self.kind in ("AssumedRole", "AWSAccount"):
            return f"arn:aws:iam::{self.account_id}:role/{self.path}{self.name}"
        if self.kind == "IAMUser":
            return f"arn:aws:iam::{self.account_id}:user/{self.name}"
        if self.kind == "Root":
            return f"arn:aws:iam::{self.account_id}:root"
        return self.service

    @property
    def unique_id(self) -> str:
        uid = self._cache.get("unique_id")
        if uid is None:
            prefix = {"AssumedRole": "AROA", "AWSAccount": "AROA", "IAMUser": "AIDA"}.get(self.kind)
            uid = (
                self.account_id
                if prefix is None
                else principal_id(prefix, self.account_id, self.name)
            )
            self._cache["unique_id"] = uid
        return uid

    def session(self, t: int) -> tuple[int, str, str, str]:
        """(session start, session name, access key id, session creation date) at time t."""
        idx = t // self.session_seconds
        memo = self._sessions.get(idx)
        if memo is None:
            if len(self._sessions) > 256:
                self._sessions.clear()
            memo = self._sessions[idx] = self._new_session(idx)
        return memo

    def _new_session(self, idx: int) -> tuple[int, str, str, str]:
        rng = random.Random(seed_of("session", self.account_id, self.name, idx))
        name = self.session_names[rng.randrange(len(self.session_names))]
        # Credentials are fetched shortly before the bucket starts, so every call of the
        # session is later than its creationDate whatever order records are built in.
        start = idx * self.session_seconds - rng.randrange(1, 120)
        key = "ASIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16))
        return start, name, key, clock.iso(start)

    def identity(self, t: int, invoked_by: str | None = None) -> dict:
        idx = t // self.session_seconds
        cache_key = (idx, invoked_by)
        cached = self._cache.get(cache_key)
        if cached is not None:
            return cached
        if len(self._cache) > 512:
            self._cache.clear()  # unique_id is recomputed on demand
        ident = self._build_identity(t, invoked_by)
        self._cache[cache_key] = ident
        return ident

    def _build_identity(self, t: int, invoked_by: str | None) -> dict:
        acct = self.account_id
        if self.kind == "AWSService":
            return {"type": "AWSService", "invokedBy": self.service}
        if self.kind == "Root":
            ident: dict = {
                "type": "Root",
                "principalId": acct,
                "arn": f"arn:aws:iam::{acct}:root",
                "accountId": acct,
                "accessKeyId": "ASIA" + hex_from("root", acct, t // 3600, n=16).upper(),
            }
            if self.session_names != ("session",):
                ident["userName"] = self.session_names[0]  # the account alias
            # Root console sessions carry MFA/session attributes but no issuer.
            ident["sessionContext"] = {
                "sessionIssuer": {},
                "webIdFederationData": {},
                "attributes": {
                    "creationDate": clock.iso(t - t % self.session_seconds),
                    "mfaAuthenticated": "true" if self.mfa else "false",
                },
            }
        elif self.kind == "IAMUser":
            ident = {
                "type": "IAMUser",
                "principalId": self.unique_id,
                "arn": self.arn,
                "accountId": acct,
                "accessKeyId": "AKIA" + hex_from("akia", acct, self.name, n=16).upper(),
                "userName": self.name,
            }
        else:
            _, sname, akid, created = self.session(t)
            if self.kind == "AWSAccount":
                ident = {
                    "type": "AWSAccount",
                    "principalId": f"{self.unique_id}:{sname}",
                    "accountId": acct,
                }
            else:
                ident = {
                    "type": "AssumedRole",
                    "principalId": f"{self.unique_id}:{sname}",
                    "arn": f"arn:aws:sts::{acct}:assumed-role/{self.name}/{sname}",
                    "accountId": acct,
                    "accessKeyId": akid,
                    "sessionContext": {
                        "sessionIssuer": {
                            "type": "Role",
                            "principalId": self.unique_id,
                            "arn": self.arn,
                            "accountId": acct,
                            "userName": self.name,
                        },
                        "webIdFederationData": {},
                        "attributes": {
                            "creationDate": created,
                            "mfaAuthenticated": "true" if self.mfa else "false",
                        },
                    },
                }
        if invoked_by:
            ident["invokedBy"] = invoked_by
        return ident

    def session_arn(self, t: int) -> str:
        """The ARN that appears in userIdentity.arn (assumed-role ARN for roles)."""
        if self.kind == "AssumedRole":
            return f"arn:aws:sts::{self.account_id}:assumed-role/{self.name}/{self.session(t)[1]}"
        return self.arn


def role(
    account_id: str,
    name: str,
    *sessions: str,
    hours: float = 1.0,
    mfa: bool = False,
    path: str = "",
) -> Principal:
    return Principal(
        "AssumedRole",
        account_id,
        name,
        session_names=sessions or (name,),
        session_seconds=int(hours * 3600),
        mfa=mfa,
        path=path,
    )


def user(account_id: str, name: str) -> Principal:
    return Principal("IAMUser", account_id, name)


def root(account_id: str, alias: str | None = None, *, mfa: bool = True) -> Principal:
    return Principal(
        "Root", account_id, "root", session_names=(alias,) if alias else ("session",), mfa=mfa
    )


def service(account_id: str, host: str) -> Principal:
    return Principal("AWSService", account_id, host, service=host)


def foreign_role(account_id: str, name: str, *sessions: str) -> Principal:
    return Principal("AWSAccount", account_id, name, session_names=sessions or (name,))


# Channels: how a workload reaches KMS. Service channels call "on behalf" of the
# principal (invokedBy + sourceIPAddress/userAgent = service host, no tlsDetails).
SERVICE_HOSTS = {
    "s3": "s3.amazonaws.com",
    "ebs": "ec2.amazonaws.com",
    "lambda": "lambda.amazonaws.com",
    "secretsmanager": "secretsmanager.amazonaws.com",
    "dynamodb": "dynamodb.amazonaws.com",
}

# Hour-of-day weights (UTC) for the rhythms; weekend factor applies to "business".
# fmt: off
RHYTHMS: dict[str, tuple[tuple[float, ...], float]] = {
    "business": (
        (0.02, 0.02, 0.02, 0.02, 0.02, 0.05, 0.15, 0.5, 0.9, 1.0, 1.0, 1.0,
         0.85, 1.0, 1.0, 1.0, 0.9, 0.7, 0.35, 0.15, 0.08, 0.05, 0.03, 0.02),
        0.0,
    ),
    "daytime": (
        (0.1, 0.08, 0.06, 0.05, 0.05, 0.08, 0.2, 0.45, 0.7, 0.85, 0.95, 1.0,
         1.0, 1.0, 0.95, 0.9, 0.9, 0.85, 0.75, 0.6, 0.45, 0.3, 0.2, 0.14),
        0.6,
    ),
    "office": (
        (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.4, 0.9, 1.0, 1.0, 1.0,
         0.8, 1.0, 1.0, 1.0, 0.9, 0.6, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        0.0,
    ),
    "flat": ((1.0,) * 24, 1.0),
    "nightly": (
        (0.1, 1.0, 1.0, 0.8, 0.2, 0.02, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
         0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        1.0,
    ),
}
# fmt: on


@dataclass
class Workload:
    """A steady use of one key by one principal through one channel.

    ``rate`` is the mean number of KMS calls per hour at the rhythm's peak; calls come in
    bursts of ``burst`` calls on average. ``start``/``end`` bound the active window
    (epoch seconds, end exclusive; None = unbounded).
    """

    name: str
    principal: Principal
    key: Key
    channel: str
    ops: tuple[tuple[str, float], ...]
    rate: float
    rhythm: str = "daytime"
    burst: float = 4.0
    start: int | None = None
    end: int | None = None
    ips: tuple[str, ...] = ()
    vpce: str | None = None
    user_agent: str = agents.JAVA_SDK
    key_ref: str = "arn"  # how callers name the key: "arn", "id" or an alias name
    resource_name: str = ""  # bucket / function / table / secret name for encryption contexts
    reencrypt_to: Key | None = None
    paused: tuple[tuple[int, int], ...] = ()
    growth: float = 0.0  # organic growth: compound rate increase per day from growth_from
    growth_from: int = 0

    def rate_at(self, t: int) -> float:
        if not self.growth:
            return self.rate
        days = max(0.0, (t - self.growth_from) / 86400)
        return self.rate * (1.0 + self.growth) ** days

    def active(self, t: int) -> bool:
        if self.start is not None and t < self.start:
            return False
        if self.end is not None and t >= self.end:
            return False
        return all(not (a <= t < b) for a, b in self.paused)


@dataclass
class World:
    """Accounts, keys, principals and workloads of one simulated estate."""

    accounts: list[Account]
    keys: dict[str, Key] = field(default_factory=dict)
    principals: dict[str, Principal] = field(default_factory=dict)
    workloads: list[Workload] = field(default_factory=list)
    noise_principals: dict[str, list[Principal]] = field(default_factory=dict)
    # Who makes read-only KMS control calls (DescribeKey, ListAliases …) per account;
    # defaults to the account's human/IAM noise principals.
    kms_readers: dict[str, list[Principal]] = field(default_factory=dict)
    # Key label → (created, deleted) epoch seconds, None = outside the simulated range.
    lifetimes: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)
    trail_name: str = "management-events"
    bucket: str = "org-cloudtrail-logs"

    def account(self, account_id: str) -> Account:
        for a in self.accounts:
            if a.account_id == account_id:
                return a
        raise KeyError(account_id)

    def add_key(self, key: Key) -> Key:
        self.keys[key.name] = key
        return key

    def add_principal(self, label: str, p: Principal) -> Principal:
        self.principals[label] = p
        return p

    def keys_in(self, account_id: str, region: str) -> list[Key]:
        return [k for k in self.keys.values() if k.account_id == account_id and k.region == region]

    def alive(self, key: Key, t: int) -> bool:
        created, deleted = self.lifetimes.get(key.name, (None, None))
        return (created is None or t >= created) and (deleted is None or t < deleted)

    def vpce(self, account_id: str, region: str) -> str:
        return "vpce-0" + hex_from("vpce", account_id, region, n=16)
