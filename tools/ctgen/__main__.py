"""``python -m tools.ctgen sample|corpus`` — write the shipped sample or a benchmark corpus."""

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
    args = ap.parse_args(argv)

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
