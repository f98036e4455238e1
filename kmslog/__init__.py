"""kmslog: offline AWS CloudTrail analyzer for KMS keys."""

__version__ = "0.1.0"
