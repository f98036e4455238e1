"""Key lifecycles: state machine, timeline, policy diffs, built from CloudTrail history."""
