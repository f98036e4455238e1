"""Key-policy analysis: parsing hostile text, grantee classes under each condition key and
operator, Deny subtraction, widening between versions, and the shapes posture tools got
wrong (prowler#970/#679/#10070, cloud-custodian#7665)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmslog.kms.policy import (
    ALL_ACTIONS,
    GRANT_OPERATIONS,
    Access,
    Policy,
    PolicyError,
    access,
    expand,
    parse_policy,
    widening,
)

OWN = "111122223333"
OTHER = "444455556666"
ORG = "o-ourorg1234"


def _shared() -> Path:
    """``../shared/external`` next to the project, or next to the directory holding it
    when the project is a worktree; a path that does not exist when absent."""
    root = Path(__file__).resolve().parents[2]
    for base in (root.parent, root.parent.parent):
        if (base / "shared" / "external").is_dir():
            return base / "shared" / "external"
    return root / "shared-absent"


SHARED = _shared()


def doc(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(
    principal: Any, action: Any = "kms:Decrypt", condition: Any = None, **extra: Any
) -> dict[str, Any]:
    st_: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": principal,
        "Action": action,
        "Resource": "*",
    }
    if condition is not None:
        st_["Condition"] = condition
    st_.update(extra)
    return st_


def deny(principal: Any, action: Any, condition: Any = None) -> dict[str, Any]:
    st_ = allow(principal, action, condition)
    st_["Effect"] = "Deny"
    return st_


def analyse(*statements: dict[str, Any], org: str | None = ORG) -> Access:
    policy = parse_policy(doc(*statements))
    assert isinstance(policy, Policy), policy
    return access(policy, OWN, org)


def classes(a: Access) -> set[tuple[str, str]]:
    return {(g.grantee, g.principal) for g in a.grants}


# --- parsing -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "not JSON"),
        ("[" * 50 + "]" * 50, "nested more than"),
        ('{"Statement": []}', "Statement is empty"),
        ("[]", "not a JSON object"),
        ('{"Version": "2012-10-17"}', "no Statement"),
        ('{"Statement": [1]}', "statement 1 is not an object"),
        (doc({"Effect": "Permit", "Principal": "*", "Action": "kms:*"}), "Effect must be"),
        (doc({"Effect": "Allow", "Action": "kms:*"}), "exactly one of principal"),
        (doc({"Effect": "Allow", "Principal": "*"}), "exactly one of action"),
        (doc({"Effect": "Allow", "Principal": "someone", "Action": "kms:*"}), "other than '*'"),
        (doc({"Effect": "Allow", "Principal": {"AWS": 7}, "Action": "kms:*"}), "must be text"),
        (doc({"Effect": "Allow", "Principal": "*", "Action": []}), "Action is empty"),
        (doc(allow("*", condition={"StringEquals": "x"})), "must map keys to values"),
        (
            doc(allow("*", condition={"StringEquals": {"kms:CallerAccount": {"a": 1}}})),
            "must be text",
        ),
        ('{"Statement": {"Effect": "Allow", "Effect": "Deny"}}', "appears twice"),
        (
            '{"Statement": {"Effect": "Allow", "effect": "Deny", "Principal": "*", "Action": "*"}}',
            "given twice",
        ),
        ('{"Statement": [], "x": NaN}', "NaN"),
        ('{"Statement": [' + '{"a": "' + "x" * 40000 + '"}]}', "more than KMS accepts"),
    ],
)
def test_unreadable_policy_is_an_error_with_reason(text: str, reason: str) -> None:
    result = parse_policy(text)
    assert isinstance(result, PolicyError)
    assert reason in result.reason


def test_parse_never_raises_on_non_text() -> None:
    assert isinstance(parse_policy(None), PolicyError)  # type: ignore[arg-type]
    assert isinstance(parse_policy("\ud800"), PolicyError)


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_parse_never_raises_on_any_text(text: str) -> None:
    assert isinstance(parse_policy(text), Policy | PolicyError)


def test_names_are_case_insensitive_as_iam_treats_them() -> None:
    # ScoutSuite#1579: kms:callerAccount is kms:CallerAccount.
    a = analyse(allow({"AWS": "*"}, "KMS:decrypt", {"stringequals": {"kms:callerAccount": OTHER}}))
    assert classes(a) == {("account", OTHER)}
    assert a.grants[0].actions == {"kms:Decrypt"}


def test_actions_expand_wildcards_and_not_action() -> None:
    assert expand("kms:GenerateDataKey*") == {
        "kms:GenerateDataKey",
        "kms:GenerateDataKeyPair",
        "kms:GenerateDataKeyPairWithoutPlaintext",
        "kms:GenerateDataKeyWithoutPlaintext",
    }
    assert expand("*") == ALL_ACTIONS
    assert expand("s3:*") == frozenset()
    assert expand("kms:FutureOperation") == {"kms:futureoperation"}
    a = analyse(
        {"Effect": "Allow", "Principal": {"AWS": OTHER}, "NotAction": "kms:*Key*", "Resource": "*"}
    )
    assert "kms:Decrypt" in a.grants[0].actions
    assert "kms:DescribeKey" not in a.grants[0].actions


# --- grantee classes -----------------------------------------------------------------------


def test_default_key_policy_is_own_account_only() -> None:
    a = analyse(
        allow({"AWS": f"arn:aws:iam::{OWN}:root"}, "kms:*", Sid="Enable IAM User Permissions")
    )
    assert classes(a) == {("own", OWN)}
    assert a.grants[0].actions == ALL_ACTIONS
    assert not a.public


def test_default_policy_from_the_kms_guide() -> None:
    path = (
        SHARED
        / "awsdocs-kms-developer-guide"
        / "doc_source-json-blocks"
        / "ct-put-key-policy.block00.json"
    )
    if not path.exists():
        pytest.skip("../shared external corpus absent")
    record = json.loads(path.read_text())
    policy = parse_policy(record["requestParameters"]["policy"])
    assert isinstance(policy, Policy)
    a = access(policy, OWN)
    assert classes(a) == {("own", OWN)}
    assert widening(None, a)[0].severity == "low"


def test_panther_made_public_examples() -> None:
    path = SHARED / "panther-analysis" / "derived" / "test_events.json"
    if not path.exists():
        pytest.skip("../shared external corpus absent")
    cases = [
        c
        for c in json.loads(path.read_text())
        if c["record"].get("eventName") == "PutKeyPolicy"
        and "policy" in c["record"].get("requestParameters", {})
    ]
    assert cases
    for case in cases:
        raw = case["record"]["requestParameters"]["policy"]
        policy = parse_policy(raw if isinstance(raw, str) else json.dumps(raw))
        assert isinstance(policy, Policy)
        account = case["record"].get("recipientAccountId", OWN)
        assert access(policy, account).public is case["expected_result"], case["test_name"]


@pytest.mark.parametrize(
    ("principal", "condition", "expected"),
    [
        # prowler#970 / #679: "*" narrowed by kms:CallerAccount is the account, not the world.
        ("*", {"StringEquals": {"kms:CallerAccount": OWN}}, {("own", OWN)}),
        ({"AWS": "*"}, {"StringEquals": {"kms:CallerAccount": OTHER}}, {("account", OTHER)}),
        (
            {"AWS": "*"},
            {"StringEquals": {"kms:CallerAccount": [OWN, OTHER]}},
            {("own", OWN), ("account", OTHER)},
        ),
        ({"AWS": "*"}, {"StringEquals": {"aws:PrincipalAccount": OTHER}}, {("account", OTHER)}),
        ({"AWS": "*"}, {"StringLike": {"kms:CallerAccount": OTHER}}, {("account", OTHER)}),
        (
            {"AWS": "*"},
            {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{OTHER}:role/*"}},
            {("account", OTHER)},
        ),
        (
            {"AWS": "*"},
            {"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{OWN}:role/R"}},
            {("own", OWN)},
        ),
        # ForAnyValue on a single-valued key is a set of one: it restricts like StringEquals.
        (
            {"AWS": "*"},
            {"ForAnyValue:StringEquals": {"kms:CallerAccount": OTHER}},
            {("account", OTHER)},
        ),
        # IfExists: the caller can make the key absent; conservatively public.
        ({"AWS": "*"}, {"StringEqualsIfExists": {"kms:CallerAccount": OWN}}, {("public", "*")}),
        ({"AWS": "*"}, {"StringEqualsIfExists": {"aws:PrincipalOrgID": ORG}}, {("public", "*")}),
        # ForAllValues over an absent key is vacuously true.
        (
            {"AWS": "*"},
            {"ForAllValues:StringEquals": {"kms:CallerAccount": OWN}},
            {("public", "*")},
        ),
        # Negated operators restrict to no one in particular.
        ({"AWS": "*"}, {"StringNotEquals": {"kms:CallerAccount": OTHER}}, {("public", "*")}),
        (
            {"AWS": "*"},
            {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/x"}},
            {("public", "*")},
        ),
        ({"AWS": "*"}, {"Null": {"aws:PrincipalOrgID": "false"}}, {("public", "*")}),
        # A wildcard-only value restricts nothing (steampipe-mod-aws-perimeter#23).
        ({"AWS": "*"}, {"StringLike": {"kms:CallerAccount": "*"}}, {("public", "*")}),
        # Caller-controlled keys restrict no one.
        ("*", {"StringEquals": {"kms:EncryptionContext:app": "x"}}, {("public", "*")}),
        ("*", {"Bool": {"aws:SecureTransport": "true"}}, {("public", "*")}),
        # Organisation.
        ("*", {"StringEquals": {"aws:PrincipalOrgID": ORG}}, {("organisation", ORG)}),
        (
            "*",
            {"StringEquals": {"aws:PrincipalOrgID": "o-theirs5678"}},
            {("outside-org", "o-theirs5678")},
        ),
        (
            "*",
            {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": f"{ORG}/r-ab12/*"}},
            {("organisation", ORG)},
        ),
        # Unresolvable or unknown conditions: conditional (unverified), never public.
        ("*", {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {("conditional", "*")}),
        ("*", {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}, {("conditional", "*")}),
        ("*", {"StringLike": {"kms:CallerAccount": "4444*"}}, {("conditional", "*")}),
        (
            "*",
            {"StringEquals": {"kms:CallerAccount": "${aws:PrincipalAccount}"}},
            {("conditional", "*")},
        ),
        ("*", {"StringEqualz": {"kms:CallerAccount": OWN}}, {("conditional", "*")}),
        ("*", {"StringEquals": {"custom:Thing": "x"}}, {("conditional", "*")}),
        # Both conditions must hold: the intersection.
        (
            "*",
            {"StringEquals": {"kms:CallerAccount": [OWN, OTHER], "aws:PrincipalAccount": OTHER}},
            {("account", OTHER)},
        ),
        # A principal outside the condition's accounts: the statement never applies.
        (
            {"AWS": f"arn:aws:iam::{OTHER}:root"},
            {"StringEquals": {"kms:CallerAccount": OWN}},
            set(),
        ),
        ("*", {"StringEquals": {"kms:CallerAccount": OWN, "aws:PrincipalAccount": OTHER}}, set()),
        # Named principals.
        ({"AWS": OTHER}, None, {("account", OTHER)}),
        ({"AWS": f"arn:aws:iam::{OTHER}:root"}, None, {("account", OTHER)}),
        (
            {"AWS": f"arn:aws-cn:iam::{OTHER}:role/R"},
            None,
            {("account", f"arn:aws-cn:iam::{OTHER}:role/R")},
        ),
        (
            {"AWS": f"arn:aws:iam::{OWN}:user/Alice"},
            None,
            {("own", f"arn:aws:iam::{OWN}:user/Alice")},
        ),
        ({"AWS": "AIDACKCEVSQ6C2EXAMPLE"}, None, {("account", "AIDACKCEVSQ6C2EXAMPLE")}),
        ({"AWS": ["*", OTHER]}, None, {("public", "*")}),
        ({"Service": "cloudtrail.amazonaws.com"}, None, {("service", "cloudtrail.amazonaws.com")}),
        (
            {"Federated": "cognito-identity.amazonaws.com"},
            None,
            {("federated", "cognito-identity.amazonaws.com")},
        ),
        ({"CanonicalUser": "abc"}, None, {("account", "canonicaluser:abc")}),
        # prowler#10070: DescribeKey to "*" is still public.
        ({"AWS": "*"}, None, {("public", "*")}),
    ],
)
def test_grantee_classes(principal: Any, condition: Any, expected: set[tuple[str, str]]) -> None:
    assert classes(analyse(allow(principal, "kms:DescribeKey", condition))) == expected


def test_via_service_keeps_the_grant_public_but_names_the_service() -> None:
    # cloud-custodian#7665: kms:ViaService narrows the path, not the accounts.
    a = analyse(
        allow(
            "*", "kms:Decrypt", {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
        )
    )
    assert classes(a) == {("public", "*")}
    assert a.grants[0].via == ("s3.us-east-1.amazonaws.com",)
    both = analyse(
        allow(
            {"AWS": "*"},
            ["kms:Encrypt", "kms:Decrypt"],
            {
                "StringEquals": {
                    "kms:ViaService": "ec2.us-west-2.amazonaws.com",
                    "kms:CallerAccount": OWN,
                }
            },
        )
    )
    assert classes(both) == {("own", OWN)}
    assert both.grants[0].via == ("ec2.us-west-2.amazonaws.com",)
    unrestricted = analyse(
        allow("*", "kms:Decrypt", {"StringEqualsIfExists": {"kms:ViaService": "s3.x"}})
    )
    assert unrestricted.grants[0].via == ()


def test_aws_managed_key_policy_shape_is_own_account_via_service() -> None:
    a = analyse(
        allow(
            {"AWS": "*"},
            [
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncrypt*",
                "kms:GenerateDataKey*",
                "kms:DescribeKey",
            ],
            {
                "StringEquals": {
                    "kms:CallerAccount": OWN,
                    "kms:ViaService": "ebs.us-east-1.amazonaws.com",
                }
            },
        ),
        allow({"AWS": f"arn:aws:iam::{OWN}:root"}, ["kms:Describe*", "kms:Get*", "kms:List*"]),
    )
    assert {g.grantee for g in a.grants} == {"own"}


def test_grant_is_for_aws_resource_limits_to_grant_operations() -> None:
    cond = {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    a = analyse(
        allow(
            {"AWS": f"arn:aws:iam::{OTHER}:role/R"},
            ["kms:CreateGrant", "kms:ListGrants", "kms:Decrypt"],
            cond,
        )
    )
    assert a.grants[0].actions == {"kms:CreateGrant", "kms:ListGrants"}
    assert a.grants[0].via
    only_decrypt = analyse(allow({"AWS": OTHER}, "kms:Decrypt", cond))
    assert only_decrypt.grants == ()
    if_exists = analyse(
        allow(
            {"AWS": OTHER}, "kms:Decrypt", {"BoolIfExists": {"kms:GrantIsForAWSResource": "true"}}
        )
    )
    assert if_exists.grants[0].actions == {"kms:Decrypt"}
    assert analyse(allow("*", "kms:CreateGrant", cond)).grants[0].grantee == "public"
    assert {"kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"} == GRANT_OPERATIONS


def test_service_principal_with_source_account() -> None:
    a = analyse(
        allow(
            {"Service": "cloudtrail.amazonaws.com"},
            "kms:GenerateDataKey*",
            {"StringEquals": {"aws:SourceAccount": OTHER}},
        )
    )
    assert [(g.grantee, g.account) for g in a.grants] == [("service", OTHER)]
    arn = analyse(
        allow(
            {"Service": "cloudtrail.amazonaws.com"},
            "kms:GenerateDataKey*",
            {"StringLike": {"aws:SourceArn": f"arn:aws:cloudtrail:*:{OWN}:trail/*"}},
        )
    )
    assert [(g.grantee, g.account) for g in arn.grants] == [("service", OWN)]
    assert widening(None, arn)[0].severity == "low"
    assert widening(None, a)[0].severity == "medium"


def test_outside_org_flag() -> None:
    a = analyse(allow({"AWS": OTHER}, "kms:Decrypt"))
    assert a.grants[0].outside_org is True
    inside = analyse(
        allow({"AWS": OTHER}, "kms:Decrypt", {"StringEquals": {"aws:PrincipalOrgID": ORG}})
    )
    assert inside.grants[0].outside_org is False
    assert analyse(allow({"AWS": OTHER}, "kms:Decrypt"), org=None).grants[0].outside_org is None
    assert analyse(allow({"AWS": OWN}, "kms:Decrypt")).grants[0].outside_org is None


def test_not_principal_allow_is_public() -> None:
    a = analyse(
        {
            "Effect": "Allow",
            "NotPrincipal": {"AWS": OTHER},
            "Action": "kms:Decrypt",
            "Resource": "*",
        }
    )
    assert a.public


# --- Deny ----------------------------------------------------------------------------------


def test_unconditional_deny_subtracts() -> None:
    a = analyse(
        allow({"AWS": OTHER}, "kms:*"), deny("*", ["kms:ScheduleKeyDeletion", "kms:PutKeyPolicy"])
    )
    assert "kms:ScheduleKeyDeletion" not in a.grants[0].actions
    assert "kms:Decrypt" in a.grants[0].actions
    assert not a.grants[0].narrowed_by_deny
    gone = analyse(
        allow({"AWS": f"arn:aws:iam::{OTHER}:role/R"}, "kms:Decrypt"), deny({"AWS": OTHER}, "kms:*")
    )
    assert gone.grants == ()


def test_conditional_or_other_principal_deny_only_may_narrow() -> None:
    a = analyse(
        allow({"AWS": "*"}, "kms:Decrypt"),
        deny("*", "kms:Decrypt", {"StringNotEquals": {"kms:CallerAccount": OWN}}),
    )
    assert a.public and a.grants[0].narrowed_by_deny
    assert "may be narrowed by Deny" in widening(None, a)[0].summary
    other = analyse(
        allow({"AWS": OTHER}, "kms:Decrypt"), deny({"AWS": "999988887777"}, "kms:Decrypt")
    )
    assert other.grants[0].actions == {"kms:Decrypt"} and other.grants[0].narrowed_by_deny
    disjoint = analyse(
        allow({"AWS": OTHER}, "kms:Decrypt"), deny("*", "kms:Encrypt", {"Bool": {"x:y": "true"}})
    )
    assert not disjoint.grants[0].narrowed_by_deny


# --- widening ------------------------------------------------------------------------------


def test_widening_names_new_public_and_external_grants() -> None:
    base = allow({"AWS": f"arn:aws:iam::{OWN}:root"}, "kms:*")
    old = analyse(base)
    new = analyse(base, allow("*", "kms:Decrypt"), allow({"AWS": OTHER}, "kms:Encrypt"))
    found = widening(old, new)
    assert [(w.severity, w.grantee, w.principal) for w in found] == [
        ("critical", "public", "*"),
        ("high", "account", OTHER),
    ]
    assert found[0].actions == {"kms:Decrypt"}
    assert "anyone (public)" in found[0].summary and "kms:Decrypt" in found[0].summary


def test_widening_new_actions_for_existing_external_principal() -> None:
    old = analyse(allow({"AWS": OTHER}, "kms:Encrypt"))
    new = analyse(allow({"AWS": OTHER}, ["kms:Encrypt", "kms:Decrypt"]))
    (w,) = widening(old, new)
    assert (w.severity, w.actions) == ("high", {"kms:Decrypt"})
    assert "may now also" in w.summary


def test_widening_conditional_to_public_and_own_actions() -> None:
    old = analyse(allow("*", "kms:Decrypt", {"StringEquals": {"kms:CallerAccount": OTHER}}))
    new = analyse(allow("*", "kms:Decrypt", {"StringEqualsIfExists": {"kms:CallerAccount": OTHER}}))
    assert [w.severity for w in widening(old, new)] == ["critical"]
    own_old = analyse(allow({"AWS": OWN}, "kms:Decrypt"))
    own_new = analyse(allow({"AWS": OWN}, ["kms:Decrypt", "kms:Encrypt"]))
    assert [(w.severity, w.actions) for w in widening(own_old, own_new)] == [
        ("low", {"kms:Encrypt"})
    ]
    unverified = analyse(allow("*", "kms:Decrypt", {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))
    assert [w.severity for w in widening(None, unverified)] == ["medium"]
    assert "not verified" in widening(None, unverified)[0].summary


def test_own_principal_under_the_account_grant_is_not_widening() -> None:
    old = analyse(allow({"AWS": f"arn:aws:iam::{OWN}:root"}, ["kms:Decrypt", "kms:Encrypt"]))
    role = {"AWS": f"arn:aws:iam::{OWN}:role/App"}
    assert (
        widening(old, analyse(allow({"AWS": OWN}, "kms:Decrypt"), allow(role, "kms:Decrypt"))) == []
    )
    (w,) = widening(old, analyse(allow(role, ["kms:Decrypt", "kms:ScheduleKeyDeletion"])))
    assert (w.grantee, w.actions, w.severity) == ("own", {"kms:ScheduleKeyDeletion"}, "low")


def test_narrowing_is_not_widening() -> None:
    wide = analyse(allow("*", "kms:*"))
    narrow = analyse(allow("*", "kms:*", {"StringEquals": {"kms:CallerAccount": OTHER}}))
    assert widening(wide, narrow) == []
    via = analyse(
        allow("*", "kms:Decrypt", {"StringEquals": {"kms:ViaService": "s3.x.amazonaws.com"}})
    )
    assert widening(analyse(allow("*", "kms:Decrypt")), via) == []
    assert [w.severity for w in widening(via, analyse(allow("*", "kms:Decrypt")))] == ["critical"]


def test_widening_summary_is_plain_and_capped() -> None:
    hostile = "arn:aws:iam::" + OTHER + ":role/[bold red]x[/]" + "y" * 1000
    (w,) = widening(None, analyse(allow({"AWS": hostile}, "kms:Decrypt")))
    assert len(w.principal) <= 256
    assert "\n" not in w.summary


# --- properties ----------------------------------------------------------------------------

_accounts = st.sampled_from([OWN, OTHER, "999988887777"])
_principals = st.one_of(
    st.just("*"),
    st.builds(lambda a: {"AWS": a}, _accounts),
    st.builds(lambda a: {"AWS": f"arn:aws:iam::{a}:role/R"}, _accounts),
    st.just({"Service": "logs.amazonaws.com"}),
)
_actions = st.lists(
    st.sampled_from(
        ["kms:Decrypt", "kms:Encrypt", "kms:*", "kms:Generate*", "kms:CreateGrant", "*"]
    ),
    min_size=1,
    max_size=3,
)
_conditions = st.one_of(
    st.none(),
    st.builds(lambda a: {"StringEquals": {"kms:CallerAccount": a}}, _accounts),
    st.builds(lambda a: {"StringEqualsIfExists": {"aws:PrincipalAccount": a}}, _accounts),
    st.just({"StringEquals": {"aws:PrincipalOrgID": ORG}}),
    st.just({"Bool": {"kms:GrantIsForAWSResource": "true"}}),
    st.just({"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}),
    st.just({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
)


def _statement(effect: str) -> st.SearchStrategy[dict[str, Any]]:
    def build(p: Any, a: list[str], c: Any) -> dict[str, Any]:
        out = allow(p, a, c)
        out["Effect"] = effect
        return out

    return st.builds(build, _principals, _actions, _conditions)


_statements = st.lists(st.one_of(_statement("Allow"), _statement("Deny")), min_size=1, max_size=5)


@given(_statements, _statement("Allow"))
@settings(max_examples=150, deadline=None)
def test_adding_an_allow_never_reduces_access(
    statements: list[dict[str, Any]], extra: dict[str, Any]
) -> None:
    before = analyse(*statements)
    after = analyse(*statements, extra)
    assert before.entitlements() <= after.entitlements()
    assert widening(after, before) == []
    for w in widening(before, after):
        assert w.actions and w.severity in {"critical", "high", "medium", "low"}


@given(_statements)
@settings(max_examples=150, deadline=None)
def test_widening_of_a_policy_against_itself_is_empty(statements: list[dict[str, Any]]) -> None:
    a = analyse(*statements)
    assert widening(a, a) == []
    assert sorted(w.actions for w in widening(None, a)) == sorted(
        w.actions for w in widening(Access(OWN, ORG, ()), a)
    )


def test_cloudtrail_default_key_policy_is_not_public() -> None:
    # prowler#679: the policy CloudTrail writes for a trail's key uses {"AWS": "*"} narrowed
    # by kms:CallerAccount, and service statements narrowed by aws:SourceArn.
    trail = f"arn:aws:cloudtrail:us-east-1:{OWN}:trail/main"
    context = {"kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{OWN}:trail/*"}
    a = analyse(
        allow({"AWS": f"arn:aws:iam::{OWN}:root"}, "kms:*", Sid="Enable IAM user permissions"),
        allow(
            {"Service": "cloudtrail.amazonaws.com"},
            "kms:GenerateDataKey*",
            {"StringLike": context, "StringEquals": {"aws:SourceArn": trail}},
        ),
        allow(
            {"Service": "cloudtrail.amazonaws.com"},
            "kms:DescribeKey",
            {"StringEquals": {"aws:SourceArn": trail}},
        ),
        allow(
            {"AWS": "*"},
            ["kms:Decrypt", "kms:ReEncryptFrom"],
            {"StringEquals": {"kms:CallerAccount": OWN}, "StringLike": context},
        ),
        allow(
            {"AWS": "*"},
            "kms:CreateAlias",
            {
                "StringEquals": {
                    "kms:ViaService": "ec2.us-east-1.amazonaws.com",
                    "kms:CallerAccount": OWN,
                }
            },
        ),
    )
    assert not a.public
    assert {g.grantee for g in a.grants} == {"own", "service"}
    assert {w.severity for w in widening(None, a)} == {"low"}


_NAMES = ["Statement", "Effect", "Principal", "AWS", "Service", "Action", "NotAction"]
_NAMES += ["Condition", "StringEquals", "kms:CallerAccount", "Resource", "NotPrincipal", "Sid"]
_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text(max_size=8)
    | st.sampled_from(["*", "Allow", "Deny"]),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_NAMES), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(_json)
@settings(max_examples=300, deadline=None)
def test_structured_garbage_is_a_policy_or_an_error(value: Any) -> None:
    result = parse_policy(json.dumps(value))
    if isinstance(result, Policy):
        a = access(result, OWN, ORG)
        widening(None, a)
    else:
        assert result.reason
