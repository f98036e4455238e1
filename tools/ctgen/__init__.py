"""Deterministic CloudTrail log generator for kmslog: realistic KMS (and surrounding) records,
the S3 delivery layout, the shipped ``sample_logs/`` corpus with planted scenarios, and
benchmark corpora.

Building blocks for other harnesses:

* ``world``: ``World``/``Account``/``Key``/``Principal``/``Workload``/``Trail`` (``make_key``,
  ``role``, ``user``, ``root``, ``service``, ``foreign_role``); ``estate.generic_world`` builds
  any size.
* ``records``: one builder per API (``kms_crypto``, ``create_key``, ``schedule_key_deletion``,
  ``kms_service_event``, ``put_metric_filter``, ``put_event_selectors`` …) taking an
  ``IdSource`` and epoch seconds.
* ``traffic.background(world, account, region, start, end, ids, profile)``: ordinary traffic.
* ``scenarios.inject_*``: planted behaviour returning ``ScenarioResult(records, labels)``.
* ``delivery``: ``batch_into_files`` (~5-minute files, late records), ``write_file``, digests.
* ``simulate``: ``simulate_background`` for a whole estate and ``deliver`` to a directory.
* ``truth``: key state histories, alias histories and metric-filter matches from records;
  ``logging_windows`` (when event selectors kept KMS out of a trail) and ``unlogged``, the
  records such a window leaves out.

Records share sub-objects (identities, tlsDetails): deep-copy one before editing it.
"""

from tools.ctgen.delivery import LogFile, batch_into_files, digest_chain, gzip_bytes, write_file
from tools.ctgen.estate import generic_world
from tools.ctgen.ids import IdSource, stable_uuid
from tools.ctgen.records import Caller
from tools.ctgen.scenarios import ScenarioResult
from tools.ctgen.simulate import deliver, simulate_background
from tools.ctgen.traffic import NoiseProfile, background, workload_call
from tools.ctgen.world import Account, Key, Principal, Workload, World, make_key

__all__ = [
    "Account",
    "Caller",
    "IdSource",
    "Key",
    "LogFile",
    "NoiseProfile",
    "Principal",
    "ScenarioResult",
    "Workload",
    "World",
    "background",
    "deliver",
    "simulate_background",
    "batch_into_files",
    "digest_chain",
    "generic_world",
    "gzip_bytes",
    "make_key",
    "stable_uuid",
    "write_file",
    "workload_call",
]
