"""CloudWatch metric filters and alarms, replayed over CloudTrail logs.

    from kmslog.metrics.loaders import builtin_rules, load_rules
    rules = builtin_rules().merged(load_rules("alarms.json"))
    from kmslog.analyses.detections import DetectionsAnalysis   # the fold scan runs

Pure pieces usable on their own: ``alarm.replay`` (datapoints in, transitions
out), ``statistics.parse_statistic``, ``existence.alarm_segments`` /
``filter_segments``, ``key_material.expiring``. The catalogue and the semantics
are documented in docs/rules.md.
"""
