"""What the logs could not see: windows in which KMS events were not, or may not have
been, recorded, and the calls that undermined where the logs go (docs/blind-spots.md).

``model`` holds the typed values every part shares; ``trails`` reads trail
configuration calls, ``selectors`` decides what a trail's event selectors record of
KMS, ``windows`` folds trail changes into windows, ``destination`` reads calls on the
trail's bucket, log group and alarms, ``gaps`` finds delivery gaps.
"""
