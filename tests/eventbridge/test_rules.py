"""EventBridge rules as data: list-rules / describe-rule JSON, [[event_rule]] TOML, the
built-in catalogue, merging, and errors that name file, rule and field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kmslog.eventbridge.rules import ENABLED_ALL
from kmslog.metrics.loaders import builtin_rules, load_rules, parse_toml
from kmslog.metrics.rules import RuleError, RuleSet

HERE = Path(__file__).parent
LIST_RULES = HERE / "list-rules.json"
PATTERN = '{"source": ["aws.kms"]}'


def test_list_rules_json_replays_as_is() -> None:
    rules = load_rules(LIST_RULES)
    assert [r.name for r in rules.event_rules] == ["kms-disable-or-delete-alert", "app-orders"]
    first, custom = rules.event_rules
    assert (first.account, first.region, first.event_bus, first.state) == (
        "111122223333",
        "us-east-1",
        "default",
        "ENABLED",
    )
    assert custom.event_bus == "orders-bus"
    assert any("nightly-report" in s and "schedule" in s for s in rules.skipped)
    assert rules.filters == () and rules.alarms == ()


def test_describe_rule_object(tmp_path: Path) -> None:
    path = tmp_path / "rule.json"
    path.write_text(
        json.dumps(
            {
                "Name": "r1",
                "Arn": "arn:aws:events:eu-west-1:444455556666:rule/r1",
                "EventPattern": PATTERN,
                "State": ENABLED_ALL,
                "EventBusName": "default",
                "CreatedBy": "444455556666",
            }
        )
    )
    (rule,) = load_rules(path).event_rules
    assert (rule.account, rule.region, rule.sees_read_only) == ("444455556666", "eu-west-1", True)


@pytest.mark.parametrize(
    ("item", "field", "words"),
    [
        ({"Name": "bad", "EventPattern": '{"source": [{"prefix": 5}]}', "State": "ENABLED"},
         "EventPattern", "line 1, column"),
        ({"Name": "bad", "EventPattern": "{}", "State": "ENABLED"}, "EventPattern", "Empty"),
        ({"Name": "bad", "EventPattern": PATTERN, "State": "ON"}, "State", "not one of"),
        ({"Name": "bad", "EventPattern": PATTERN, "State": "ENABLED", "Arn": "arn:x"},
         "Arn", "must be"),
        ({"Name": 5, "EventPattern": PATTERN, "State": "ENABLED"}, "Name", "string"),
    ],
)  # fmt: skip
def test_invalid_rules_name_file_rule_and_field(
    tmp_path: Path, item: dict, field: str, words: str
) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps({"Rules": [item]}))
    with pytest.raises(RuleError) as caught:
        load_rules(path)
    text = str(caught.value)
    assert f"field {field!r}" in text and words in text and "Rules[0]" in text


def test_toml_event_rules() -> None:
    rules = parse_toml(
        """
[[event_rule]]
id = "mine"
title = "Mine"
severity = "low"
pattern = '{"source": ["aws.kms"], "detail": {"eventName": [{"prefix": "Disable"}]}}'
state = "DISABLED"
""",
        "mine.toml",
    )
    (rule,) = rules.event_rules
    assert (rule.id, rule.name, rule.state, rule.severity, rule.origin) == (
        "mine",
        "mine",
        "DISABLED",
        "low",
        "mine.toml",
    )


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ('[[event_rule]]\nid = "a"\npattern = "{}"\n', "Empty objects"),
        ('[[event_rule]]\nid = "a"\npattern = \'{"a": [1]}\'\ncolour = 1\n', "unknown field"),
        ('[[event_rule]]\npattern = \'{"a": [1]}\'\n', "is required"),
        ('[[event_rule]]\nid = "a"\npattern = \'{"a": [1]}\'\n' * 2, "duplicate"),
        ('event_rule = 3\n', "array of tables"),
    ],
)  # fmt: skip
def test_toml_event_rule_errors(text: str, words: str) -> None:
    with pytest.raises(RuleError, match=words) as caught:
        parse_toml(text, "f.toml")
    assert "f.toml" in str(caught.value)


def test_builtin_catalogue_has_the_kms_guide_events_and_cis_4_7() -> None:
    rules = {r.id: r for r in builtin_rules().event_rules}
    assert set(rules) == {
        "eventbridge-kms-cmk-rotation",
        "eventbridge-kms-key-material-expiration",
        "eventbridge-kms-cmk-deletion",
        "eventbridge-cis-4.7-cmk-disable-or-scheduled-deletion",
    }
    assert all(r.state == "ENABLED" and r.event_bus == "default" for r in rules.values())


def test_a_loaded_rule_replaces_the_builtin_of_the_same_name_and_keeps_its_metadata() -> None:
    theirs = parse_toml(
        '[[event_rule]]\nid = "x"\nname = "KMSCMKDeletion"\nstate = "DISABLED"\n'
        'pattern = \'{"source": ["aws.kms"]}\'\n',
        "t.toml",
    )
    merged = builtin_rules().merged(theirs)
    (deletion,) = [r for r in merged.event_rules if r.name == "KMSCMKDeletion"]
    assert deletion.state == "DISABLED" and deletion.pattern == '{"source": ["aws.kms"]}'
    assert deletion.id == "eventbridge-kms-cmk-deletion" and deletion.severity == "high"
    assert len(merged.event_rules) == 4
    assert RuleSet().merged(theirs).event_rules == theirs.event_rules
