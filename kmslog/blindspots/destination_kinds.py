"""The finding kinds of calls that undermine where the trail's logs go, the alarms on
them, and of delivery gaps, registered in the one finding model.

A failed call of any of these is one kind (:data:`DESTINATION_ATTEMPT`): nothing
changed, but someone tried, which is worth knowing at a lower severity.
"""

from __future__ import annotations

from kmslog.findings.model import FindingKind, define_kind

_CT = "https://docs.aws.amazon.com/awscloudtrail/latest/userguide/"
_S3_POLICY = _CT + "create-s3-bucket-policy-for-cloudtrail.html"
_CWL = _CT + "send-cloudtrail-events-to-cloudwatch-logs.html"
_ALARMS = _CT + "cloudwatch-alarms-for-cloudtrail.html"
_LIFECYCLE = "https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lifecycle-mgmt.html"
_RETENTION = (
    "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/"
    "Working-with-log-groups-and-streams.html#SettingLogRetention"
)
_SUBSCRIPTIONS = "https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/Subscriptions.html"
_DELIVERY = _CT + "how-cloudtrail-works.html"


def _kind(*fields: str) -> FindingKind:
    """id, title, severity, rationale, remediation, then any references."""
    kind_id, title, severity, rationale, remediation, *references = fields
    return define_kind(
        "blind_spot", kind_id, title, severity, rationale, remediation, tuple(references)
    )


BUCKET_DELETED = _kind(
    "blind-spot-trail-bucket-deleted",
    "Trail's S3 bucket deleted",
    "critical",
    "The bucket CloudTrail delivers log files to was deleted: the log files it held are "
    "gone, and CloudTrail cannot deliver new ones until the bucket exists again.",
    "Recreate the bucket with CloudTrail's bucket policy (or point the trail at another), "
    "restore the log files from a replica if one exists, and review who deleted it.",
    _S3_POLICY,
)
BUCKET_POLICY_DELETED = _kind(
    "blind-spot-trail-bucket-policy-deleted",
    "Trail's S3 bucket policy deleted",
    "high",
    "CloudTrail writes to its bucket only as the bucket policy allows; with the policy "
    "deleted, delivery of new log files fails from that moment.",
    "Restore the bucket policy that grants cloudtrail.amazonaws.com s3:GetBucketAcl and "
    "s3:PutObject, and check the trail's delivery status.",
    _S3_POLICY,
)
BUCKET_POLICY_BLOCKS = _kind(
    "blind-spot-trail-bucket-policy-blocks-delivery",
    "Trail's S3 bucket policy no longer lets CloudTrail write",
    "high",
    "The new bucket policy grants cloudtrail.amazonaws.com no s3:PutObject, or denies it "
    "outright: CloudTrail's deliveries to the bucket fail from that moment.",
    "Put back the statement that allows cloudtrail.amazonaws.com s3:PutObject on the "
    "trail's prefix, and check the trail's delivery status.",
    _S3_POLICY,
)
BUCKET_LIFECYCLE = _kind(
    "blind-spot-trail-bucket-lifecycle",
    "Lifecycle configuration put on the trail's S3 bucket",
    "high",
    "A lifecycle rule on the bucket holding the log files can expire (delete) them "
    "after as little as a day, silently destroying the evidence.",
    "Review the rule; remove expirations shorter than the retention the logs need, and "
    "protect the bucket with S3 Object Lock or a replica.",
    _LIFECYCLE,
)
LOG_GROUP_DELETED = _kind(
    "blind-spot-trail-log-group-deleted",
    "Trail's CloudWatch Logs log group deleted",
    "high",
    "The log group CloudTrail sends events to was deleted, with its metric filters and "
    "subscriptions: the alarms built on it stop hearing anything.",
    "Recreate the log group, its metric filters and subscriptions, and check the trail's "
    "CloudWatch Logs delivery.",
    _CWL,
    _ALARMS,
)
LOG_RETENTION = _kind(
    "blind-spot-trail-log-retention",
    "Retention of the trail's log group changed",
    "medium",
    "A retention policy on the trail's log group makes CloudWatch Logs delete its "
    "events after the given number of days.",
    "Check the retention against the period the events must be kept for.",
    _RETENTION,
)
SUBSCRIPTION_FILTER_DELETED = _kind(
    "blind-spot-trail-subscription-filter-deleted",
    "Subscription filter removed from the trail's log group",
    "medium",
    "The trail's events are no longer forwarded through this subscription (often to a "
    "SIEM or an archive).",
    "Restore the subscription filter if the forwarding is still needed.",
    _SUBSCRIPTIONS,
)
METRIC_FILTER_DELETED = _kind(
    "blind-spot-trail-metric-filter-deleted",
    "Metric filter removed from the trail's log group",
    "high",
    "The metric filter turned trail events into a metric; without it the alarms on "
    "that metric never fire again.",
    "Restore the metric filter and check the alarms that use its metric.",
    _ALARMS,
)
ALARMS_DELETED = _kind(
    "blind-spot-alarms-deleted",
    "CloudWatch alarms deleted",
    "high",
    "Deleted alarms notify nobody: whatever they watched goes unnoticed from then on.",
    "Recreate the alarms if they were wanted, and review who deleted them.",
    _ALARMS,
)
ALARM_ACTIONS_DISABLED = _kind(
    "blind-spot-alarm-actions-disabled",
    "CloudWatch alarm actions disabled",
    "high",
    "An alarm whose actions are disabled still changes state but notifies nobody.",
    "Enable the alarm actions again (EnableAlarmActions) and review who disabled them.",
    _ALARMS,
)
DESTINATION_ATTEMPT = _kind(
    "blind-spot-destination-attempt",
    "Failed attempt on the trail's bucket, log group or alarms",
    "medium",
    "The call failed, so nothing changed; but someone tried to delete or weaken where "
    "the logs go or the alarms on them.",
    "Find out who made the call and why it was denied or failed.",
    _S3_POLICY,
    _CWL,
    _ALARMS,
)
DELIVERY_GAP = _kind(
    "blind-spot-delivery-gap",
    "No records for an unusually long stretch",
    "medium",
    "The logs of this account and Region usually have records at a steady cadence, but "
    "none for this stretch: logging was off, files were lost or deleted, or the files "
    "of that time were not given.",
    "Look for the log files of that stretch in the bucket (and its digests), and for "
    "trail changes around it.",
    _DELIVERY,
)
MISSING_REGION = _kind(
    "blind-spot-missing-region",
    "No records at all for a Region other accounts have",
    # Accounts often simply do not use every Region: worth reading, not failing on.
    "info",
    "Other accounts in the logs have records in this Region, this account none: its "
    "trail may not cover the Region, or its files were not given.",
    "Check that the account's trail is multi-Region and that its files for the Region "
    "were included.",
    _DELIVERY,
)
