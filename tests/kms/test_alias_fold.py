"""The alias history as a fold of the scan (``analyses/aliases.py``) and the names a
key had over a span (``AliasHistory.names_during``): the same answer whether the
records arrive in one batch or split across combined partials."""

from __future__ import annotations

from datetime import UTC, datetime

from kmslog.analyses.aliases import AliasHistoryAnalysis
from kmslog.decode.memory import frame_from_records
from kmslog.kms.resolve import AliasHistory
from tests.lifecycle_records import KEY_A, KEY_B, alias_arn, arn, record


def t(day: int) -> datetime:
    return datetime(2024, 3, day, tzinfo=UTC)


def _alias(name: str, alias: str, day: int, key: str | None) -> dict:
    request = {"aliasName": alias}
    resources = [alias_arn(alias)]
    if key:
        request["targetKeyId"] = key
        resources.append(arn(key))
    return record(name, f"2024-03-{day:02d}T00:00:00Z", None, request=request, resources=resources)


RECORDS = [
    # alias/payments: key A from day 2, moved to key B on day 10
    _alias("CreateAlias", "alias/payments", 2, KEY_A),
    _alias("UpdateAlias", "alias/payments", 10, KEY_B),
    # alias/legacy: never created in the logs, but a use on day 5 shows it on key A
    record(
        "Decrypt",
        "2024-03-05T00:00:00Z",
        None,
        request={"keyId": "alias/legacy"},
        resources=[arn(KEY_A)],
    ),
]


def fold(*batches: list[dict]) -> AliasHistory:
    a = AliasHistoryAnalysis()
    partials = [a.update(a.start(), frame_from_records(b)) for b in batches]
    state = partials[0]
    for other in partials[1:]:
        state = a.combine(state, other)
    return a.finish(state)


def test_names_during_follow_the_alias_moves() -> None:
    history = fold(RECORDS)
    assert history.names_during(arn(KEY_A), t(3), t(4)) == ("alias/legacy", "alias/payments")
    assert history.names_during(arn(KEY_A), t(11), t(12)) == ("alias/legacy",)
    assert history.names_during(arn(KEY_B), t(3), t(9)) == ()
    assert history.names_during(arn(KEY_B), t(9), t(11)) == ("alias/payments",)
    assert history.names_during(arn(KEY_B), None, None) == ("alias/payments",)


def test_split_batches_give_the_same_history() -> None:
    whole = fold(RECORDS)
    split = fold(RECORDS[:1], RECORDS[1:2], RECORDS[2:])
    for key in (arn(KEY_A), arn(KEY_B)):
        for span in ((t(1), t(3)), (t(9), t(11)), (None, None)):
            assert split.names_during(key, *span) == whole.names_during(key, *span)
