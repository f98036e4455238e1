"""EventBridge offline: the events EventBridge would have seen (``envelope``), rules as
data (``rules``), their configuration history from the logs (``history``)."""
