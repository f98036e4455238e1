"""What basic and advanced event selectors record of KMS management events."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kmslog.blindspots import selectors as sel
from kmslog.blindspots.model import Coverage

from .records import external, field, management

ALL, RO, WO, NONE = Coverage.ALL, Coverage.READ_ONLY, Coverage.WRITE_ONLY, Coverage.NONE
KMS = "kms.amazonaws.com"


def basic_one(
    rw: str = "All", include: bool = True, exclude: list[str] | None = None
) -> dict[str, Any]:
    return {
        "readWriteType": rw,
        "includeManagementEvents": include,
        "excludeManagementEventSources": exclude or [],
        "dataResources": [],
    }


def data_only(kind: str = "AWS::S3::Object") -> dict[str, Any]:
    return {
        "name": "data",
        "fieldSelectors": [
            field("eventCategory", equals=["Data"]),
            field("resources.type", equals=[kind]),
        ],
    }


@pytest.mark.parametrize(
    ("selectors", "least", "management"),
    [
        ([basic_one()], ALL, True),
        ([{}], ALL, True),  # every key at the API's default
        ([basic_one("ReadOnly")], RO, True),
        ([basic_one("WriteOnly")], WO, True),
        ([basic_one(include=False)], NONE, False),
        ([basic_one(exclude=[KMS])], NONE, True),
        ([basic_one(exclude=["rdsdata.amazonaws.com"])], ALL, True),
        ([basic_one(exclude=["rdsdata.amazonaws.com", KMS])], NONE, True),
        ([basic_one("ReadOnly"), basic_one("WriteOnly")], ALL, True),
        ([basic_one("ReadOnly"), basic_one(exclude=[KMS])], RO, True),
        ([basic_one(include=False), basic_one("WriteOnly")], WO, True),
        ([], NONE, False),
    ],
)
def test_basic(selectors: list[dict[str, Any]], least: Coverage, management: bool) -> None:
    got = sel.basic(selectors)
    assert (got.least, got.most, got.management) == (least, least, management)
    assert not got.uncertain


@pytest.mark.parametrize(
    "selectors",
    [
        [basic_one("Sometimes")],
        [basic_one(include="yes")],  # type: ignore[arg-type]
        [{**basic_one(), "excludeManagementEventSources": "kms.amazonaws.com"}],
        [{**basic_one(), "includeEverything": True}],
        ["All"],
        "All",
    ],
)
def test_basic_unknown_is_uncertain(selectors: Any) -> None:
    got = sel.basic(selectors)
    assert got.uncertain
    assert got.least is NONE and got.most is ALL


def test_basic_unknown_next_to_a_full_selector_is_certain() -> None:
    got = sel.basic([basic_one("Sometimes"), basic_one()])
    assert (got.least, got.uncertain) == (ALL, False)


def test_basic_keys_in_api_case() -> None:
    api = [
        {"ReadWriteType": "WriteOnly", "IncludeManagementEvents": True, "DataResources": []},
        {"ReadWriteType": "All", "ExcludeManagementEventSources": [KMS]},
    ]
    assert sel.basic(api).least is WO


@pytest.mark.parametrize(
    ("selectors", "least", "management"),
    [
        ([management()], ALL, True),
        ([management(field("eventSource", notEquals=[KMS]))], NONE, True),
        ([management(field("eventSource", notEquals=["rdsdata.amazonaws.com"]))], ALL, True),
        ([management(field("readOnly", equals=["true"]))], RO, True),
        ([management(field("readOnly", equals=["false"]))], WO, True),
        ([management(field("eventSource", equals=[KMS]))], ALL, False),
        ([management(field("eventSource", startsWith=["kms."]))], ALL, False),
        ([management(field("eventSource", notStartsWith=["kms"]))], NONE, True),
        ([management(field("eventSource", notEndsWith=[".amazonaws.com"]))], NONE, False),
        ([data_only()], NONE, False),
        ([data_only(), management()], ALL, True),
        (
            [
                management(field("readOnly", equals=["true"])),
                management(field("readOnly", equals=["false"])),
            ],
            ALL,
            True,
        ),
        (
            [
                management(field("eventSource", notEquals=[KMS])),
                management(field("eventSource", equals=[KMS]), field("readOnly", equals=["true"])),
            ],
            RO,
            True,
        ),
        ([], NONE, False),
    ],
)
def test_advanced(selectors: list[dict[str, Any]], least: Coverage, management: bool) -> None:
    got = sel.advanced(selectors)
    assert (got.least, got.most, got.management) == (least, least, management)


@pytest.mark.parametrize(
    "selectors",
    [
        [management(field("eventName", equals=["Decrypt"]))],
        [management(field("eventSource", matchesRegex=["kms.*"]))],
        [management(field("readOnly", equals="true"))],  # type: ignore[arg-type]
        [{"name": "no category", "fieldSelectors": [field("readOnly", equals=["true"])]}],
        [{"name": "empty", "fieldSelectors": []}],
        [{"name": "bad"}],
        {"fieldSelectors": []},
    ],
)
def test_advanced_unknown_is_uncertain(selectors: Any) -> None:
    got = sel.advanced(selectors)
    assert got.uncertain and got.least is NONE


def test_advanced_uncertain_keeps_what_is_certain() -> None:
    got = sel.advanced(
        [
            management(field("readOnly", equals=["true"])),
            management(field("eventName", equals=["DisableKey"])),
        ]
    )
    assert (got.least, got.most) == (RO, ALL)


def test_advanced_in_api_case() -> None:
    api = [
        {
            "Name": "Log all management events except KMS events",
            "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Management"], "NotEquals": []},
                {"Field": "eventSource", "Equals": [], "NotEquals": [KMS]},
            ],
        }
    ]
    got = sel.advanced(api)
    assert (got.least, got.management, got.uncertain) == (NONE, True, False)


def test_from_parameters_picks_the_kind() -> None:
    assert sel.from_parameters({"trailName": "t"}) is None
    assert sel.from_parameters(None) is None
    assert sel.from_parameters({"eventSelectors": [basic_one("ReadOnly")]}).least is RO  # type: ignore[union-attr]
    adv = {"advancedEventSelectors": [management(field("eventSource", notEquals=[KMS]))]}
    assert sel.from_parameters(adv).least is NONE  # type: ignore[union-attr]


def test_aws_documentation_example() -> None:
    corpus = external()
    if corpus is None:
        pytest.skip("../shared/external is not present")
    blocks = corpus / "awsdocs-cloudtrail-user-guide-history/doc_source-json-blocks"
    found = sorted(blocks.glob("cloudtrail-additional-cli-commands.*.json"))
    docs = [json.loads(p.read_text()) for p in found]
    examples = [d for d in docs if "except KMS" in json.dumps(d)]
    if not examples:
        pytest.skip("the AWS documentation examples are not available")
    for example in examples:
        got = sel.from_parameters(example)
        assert got is not None
        assert (got.least, got.management) == (NONE, True)


# Properties: basic selectors and the advanced selectors that say the same thing agree;
# the union never records less than any of its parts; order does not matter.

basic_selector = st.builds(
    basic_one,
    rw=st.sampled_from(["All", "ReadOnly", "WriteOnly"]),
    include=st.booleans(),
    exclude=st.lists(st.sampled_from([KMS, "rdsdata.amazonaws.com"]), max_size=2, unique=True),
)


def as_advanced(basic: dict[str, Any]) -> dict[str, Any]:
    if not basic["includeManagementEvents"]:
        return data_only()
    more = []
    if basic["readWriteType"] != "All":
        more.append(field("readOnly", equals=[str(basic["readWriteType"] == "ReadOnly").lower()]))
    if basic["excludeManagementEventSources"]:
        more.append(field("eventSource", notEquals=basic["excludeManagementEventSources"]))
    return management(*more)


def reads_writes(c: Coverage) -> set[str]:
    return {ALL: {"read", "write"}, RO: {"read"}, WO: {"write"}, NONE: set()}[c]


@given(st.lists(basic_selector, max_size=5))
def test_basic_and_advanced_agree(basics: list[dict[str, Any]]) -> None:
    a, b = sel.basic(basics), sel.advanced([as_advanced(x) for x in basics])
    assert (a.least, a.management) == (b.least, b.management)


@given(st.lists(basic_selector, max_size=4), st.lists(basic_selector, max_size=4))
def test_union_records_at_least_each_part(left: list[Any], right: list[Any]) -> None:
    whole = reads_writes(sel.basic(left + right).least)
    assert reads_writes(sel.basic(left).least) <= whole
    assert reads_writes(sel.basic(right).least) <= whole
    assert whole == reads_writes(sel.basic(left).least) | reads_writes(sel.basic(right).least)


@given(st.lists(basic_selector, max_size=5), st.randoms())
def test_order_does_not_matter(basics: list[Any], rnd: Any) -> None:
    advanced = [as_advanced(x) for x in basics]
    shuffled = advanced[:]
    rnd.shuffle(shuffled)
    assert sel.advanced(advanced) == sel.advanced(shuffled)
    assert sel.basic(basics) == sel.basic(list(reversed(basics)))
