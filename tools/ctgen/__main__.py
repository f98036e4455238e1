"""``python -m tools.ctgen sample|corpus|signed-trail`` — write the shipped sample, a
benchmark corpus, or a small trail with a signed digest chain (for ``kmslog verify``)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

DEFAULT_TRUTH = Path(__file__).with_name("scenarios.json")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tools.ctgen", description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser(
        "sample", help="write the deterministic sample corpus (sample_logs/) and its ground truth"
    )
    s.add_argument("--out", type=Path, default=Path("sample_logs"))
    s.add_argument(
        "--truth", type=Path, default=DEFAULT_TRUTH, help="where to write scenarios.json"
    )
    c = sub.add_parser("corpus", help="write a benchmark corpus of N events")
    c.add_argument("--out", type=Path, required=True)
    c.add_argument("--events", type=int, required=True)
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--accounts", type=int, default=4)
    c.add_argument("--regions", type=int, default=4)
    c.add_argument("--days", type=int, default=5)
    c.add_argument("--start", default="2026-09-01")
    c.add_argument("--mean-per-file", type=float, default=2500.0)
    c.add_argument("--level", type=int, default=2, choices=range(0, 4), help="ISA-L gzip level 0-3")
    t = sub.add_parser(
        "signed-trail",
        help="write log files with a digest chain signed by a freshly generated RSA key, "
        "plus OUT-list-public-keys.json and OUT-signatures.json beside OUT",
    )
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--hours", type=int, default=3)
    t.add_argument("--per-hour", type=int, default=2)
    t.add_argument("--org-id", default=None, help="organisation trail layout (o-…)")
    t.add_argument("--prefix", default="", help="S3 key prefix before AWSLogs/ (end it with /)")
    args = ap.parse_args(argv)

    if args.cmd == "signed-trail":
        from tools.ctgen.digests import new_signing_key, write_signed_trail

        if args.hours < 1 or args.per_hour < 0:
            ap.error("--hours must be positive and --per-hour not negative")
        trail = write_signed_trail(
            args.out,
            new_signing_key(),
            hours=args.hours,
            per_hour=args.per_hour,
            org_id=args.org_id,
            prefix=args.prefix,
        )
        print(
            json.dumps(
                {
                    "logs": len(trail.log_paths),
                    "digests": len(trail.digest_paths),
                    "public_keys": str(trail.public_keys_path),
                    "signatures": str(trail.signatures_path),
                }
            )
        )
        return 0

    if args.cmd == "sample":
        from tools.ctgen.sample import truth_json, write_sample

        if args.out.exists() and any(args.out.iterdir()):
            print(
                f"{args.out} is not empty; remove it first so stale files cannot survive",
                file=sys.stderr,
            )
            return 2
        corpus = write_sample(args.out)
        args.truth.write_text(truth_json(corpus))
        print(json.dumps(corpus.truth["counts"]))
        return 0

    from tools.ctgen.corpus import generate_corpus

    if args.events < 1:
        ap.error("--events must be positive")
    t0 = time.perf_counter()
    stats = generate_corpus(
        args.out,
        events=args.events,
        seed=args.seed,
        accounts=args.accounts,
        regions=args.regions,
        days=args.days,
        start=args.start,
        mean_per_file=args.mean_per_file,
        level=args.level,
    )
    out = stats.as_dict()
    out["seconds"] = round(time.perf_counter() - t0, 2)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
