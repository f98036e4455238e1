"""Rule files the fuzzer found crashing the loaders: each must be refused with a RuleError
that names the rule and the field, never with another exception."""

from __future__ import annotations

import json

import pytest

from kmslog.metrics.loaders import MAX_TOML_NESTING, load_rules
from kmslog.metrics.rules import RuleError

FILTER = {
    "filterName": "F",
    "filterPattern": "ERROR",
    "metricTransformations": [{"metricName": "m", "metricNamespace": "n", "metricValue": "1"}],
}
ALARM = {
    "AlarmName": "A",
    "MetricName": "m",
    "Namespace": "n",
    "Statistic": "Sum",
    "Period": 60,
    "EvaluationPeriods": 1,
    "Threshold": 1,
    "ComparisonOperator": "GreaterThanThreshold",
}
TOML_RULE = """
[[rule]]
id = "r"
[rule.filter]
pattern = "ERROR"
namespace = "n"
metric = "m"
"""


def _refused(tmp_path, name: str, text: str) -> RuleError:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RuleError) as info:
        load_rules(path)
    assert isinstance(info.value.rule, str) and isinstance(info.value.field, str)
    return info.value


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"metricFilters": 5}, "metricFilters"),
        ({"MetricAlarms": {"AlarmName": "A"}}, "MetricAlarms"),
        ({"metricFilters": [], "CompositeAlarms": "x"}, "CompositeAlarms"),
        ({"MetricAlarms": [{**ALARM, "ComparisonOperator": ["GreaterThanThreshold"]}]},
         "ComparisonOperator"),
        ({"MetricAlarms": [{**ALARM, "ComparisonOperator": {"a": 1}}]}, "ComparisonOperator"),
    ],
)  # fmt: skip
def test_wrong_types_in_aws_json(tmp_path, document, field):
    assert _refused(tmp_path, "r.json", json.dumps(document)).field == field


def test_a_name_that_is_not_a_string_still_names_the_rule(tmp_path):
    error = _refused(
        tmp_path, "r.json", json.dumps({"metricFilters": [{**FILTER, "filterName": 7}]})
    )
    assert (error.rule, error.field) == ("?", "filterName")


@pytest.mark.parametrize(
    "text",
    [
        '{"metricFilters": ' + "[" * 5000 + "]" * 5000 + "}",
        '{"metricFilters": [], "x": ' + "1" * 5000 + "}",
        '{"metricFilters": [], "x": 1e400}',
    ],
    ids=["deep", "long-integer", "beyond-float"],
)
def test_json_beyond_the_parser_limits(tmp_path, text):
    assert "invalid JSON" in _refused(tmp_path, "r.json", text).detail


def test_toml_dimensions_must_be_a_table(tmp_path):
    error = _refused(tmp_path, "r.toml", TOML_RULE + "dimensions = 1\n")
    assert (error.rule, error.field) == ("r", "dimensions")


def test_toml_rule_must_be_an_array_of_tables(tmp_path):
    assert _refused(tmp_path, "r.toml", "rule = 1\n").field == "rule"


def test_toml_key_material_id_must_be_a_string(tmp_path):
    error = _refused(tmp_path, "r.toml", "[key_material]\nid = 5\n")
    assert (error.rule, error.field) == ("key_material", "id")


@pytest.mark.parametrize("depth", [MAX_TOML_NESTING + 1, 5000])
def test_toml_nested_too_deep(tmp_path, depth):
    text = TOML_RULE + "references = " + "[" * depth + "]" * depth + "\n"
    assert "nested more than" in _refused(tmp_path, "r.toml", text).detail


def test_toml_nesting_inside_strings_and_comments_does_not_count(tmp_path):
    deep = "[" * (MAX_TOML_NESTING + 5)
    path = tmp_path / "r.toml"
    header = f'id = "r"\ntitle = \'{deep}\'  # {deep}\ndescription = """{deep}\n{deep}"""'
    path.write_text(TOML_RULE.replace('id = "r"', header), encoding="utf-8")
    rule = load_rules(path).filters[0]
    assert rule.title == deep and rule.description == f"{deep}\n{deep}"


def test_toml_integer_too_long_to_convert(tmp_path):
    assert "invalid TOML" in _refused(tmp_path, "r.toml", "x = " + "1" * 5000 + "\n").detail
