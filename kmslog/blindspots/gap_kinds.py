"""Finding kinds of the delivery cadence: stretches without logs, Regions missing."""

from __future__ import annotations

from kmslog.findings.model import FindingKind, register_kind

DELIVERY_GAP = register_kind(
    FindingKind(
        id="blind-spot-delivery-gap",
        title="No log files for longer than this account and Region's cadence allows",
        severity="medium",
        source="blind_spot",
        rationale="CloudTrail delivers a file about every five minutes while there is "
        "activity; a stretch far longer than the usual spacing of this account and Region "
        "means files were not delivered, were deleted, or were left out of the export.",
        remediation="Compare with the bucket's object listing for those hours (and its "
        "S3 data events or CloudTrail Lake); run `kmslog verify` on the digests to tell a "
        "deleted file from a quiet hour.",
        references=(
            "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/"
            "how-cloudtrail-works.html",
        ),
    )
)
MISSING_REGION = register_kind(
    FindingKind(
        id="blind-spot-region-missing",
        title="Region with logs for other accounts but none for this one",
        severity="info",
        source="blind_spot",
        rationale="The export holds this Region for other accounts only: the trail of "
        "this account may not cover it, or its files were left out.",
        remediation="Check the account's trails (multi-Region?) and the export's prefixes.",
    )
)
