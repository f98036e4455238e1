"""Offline CloudTrail log file integrity validation (``kmslog verify``).

The equivalent of ``aws cloudtrail validate-logs`` over files already on disk: digest
files are parsed (:mod:`.digest`), their signatures checked against the public keys
``aws cloudtrail list-public-keys`` prints (:mod:`.keys`, :mod:`.signing`), the chain
and the listed log files checked (:mod:`.check`), and every problem reported as a
finding of a registered kind (:mod:`.kinds`). Design and sources: ``docs/verify.md``.
"""

from kmslog.verify.check import VerifyInputs, VerifyResult, verify

__all__ = ["VerifyInputs", "VerifyResult", "verify"]
