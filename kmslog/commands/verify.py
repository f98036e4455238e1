"""``kmslog verify PATH…``: offline ``aws cloudtrail validate-logs`` over downloaded files."""

from __future__ import annotations

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kmslog.commands.options import (
    DEFAULT_MAX_DECOMPRESSED_SIZE,
    EXIT_CLEAN,
    EXIT_FOUND,
    EXIT_INTERNAL,
    EXIT_USAGE,
    MaxDecompressedSize,
    parse_size,
)
from kmslog.report import safe


class VerifyFormat(StrEnum):
    table = "table"
    json = "json"
    ndjson = "ndjson"


HELP = """Check CloudTrail log file integrity offline, like `aws cloudtrail validate-logs` on
files already downloaded (aws s3 sync of the trail's AWSLogs/ tree, digests included).

For each digest file (CloudTrail-Digest/): its format and location, its SHA256withRSA
signature (with --public-keys and a known signature), the link to the previous digest
(hash and signature) and gaps in the chain, and the SHA-256 of every log file it lists
(missing or modified). Log files that no digest lists although digests cover their hour
are failures too. Whatever could not be checked is listed as such.

The signature of a digest is S3 metadata (x-amz-meta-signature), not in the file: give
it with --signatures, or as a sidecar DIGEST.metadata.json (the output of `aws s3api
head-object`); every digest but the newest of a chain gets it from its successor."""


def verify(
    paths: Annotated[
        list[str],
        typer.Argument(
            metavar="PATH...",
            help="Directories (recursive), files or globs holding CloudTrail-Digest/ and "
            "CloudTrail/ files in the S3 layout (AWSLogs/…).",
        ),
    ],
    public_keys: Annotated[
        list[str] | None,
        typer.Option(
            "--public-keys",
            metavar="FILE",
            help="JSON of `aws cloudtrail list-public-keys` (repeatable: one per Region).",
        ),
    ] = None,
    signatures: Annotated[
        list[str] | None,
        typer.Option(
            "--signatures",
            metavar="FILE",
            help="JSON object: digest S3 key (or s3://bucket/key) → hex signature or its "
            'metadata map ({"signature": …}) (repeatable).',
        ),
    ] = None,
    no_sidecars: Annotated[
        bool, typer.Option("--no-sidecars", help="Ignore DIGEST.metadata.json sidecar files.")
    ] = False,
    output_format: Annotated[
        VerifyFormat, typer.Option("--format", help="table (terminal), json or ndjson.")
    ] = VerifyFormat.table,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", metavar="FILE", help="Write here.")
    ] = None,
    max_decompressed_size: MaxDecompressedSize = DEFAULT_MAX_DECOMPRESSED_SIZE,
) -> None:
    from kmslog.report.verify_report import print_verify, write_json, write_ndjson
    from kmslog.sources.discover import discover
    from kmslog.verify import VerifyInputs
    from kmslog.verify import verify as run_verify
    from kmslog.verify.keys import (
        SIDECAR_SUFFIX,
        InputFileError,
        PublicKey,
        Signature,
        load_public_keys,
        load_signatures,
    )

    remote = [p for p in paths if "://" in p]
    if remote:
        safe.say(
            f"error: verify reads local files only ({remote[0]}): download the trail's "
            "AWSLogs/ tree first (aws s3 sync s3://BUCKET/PREFIX/AWSLogs AWSLogs)"
        )
        raise typer.Exit(EXIT_USAGE)
    found = discover(paths)
    if found.missing:
        safe.say(f"error: no such file or directory: {found.missing[0]}")
        raise typer.Exit(EXIT_USAGE)
    digest_paths = [p for p in sorted(found.skipped_digest) if not p.endswith(SIDECAR_SUFFIX)]
    if not digest_paths:
        safe.say(
            "error: no CloudTrail digest file (…/CloudTrail-Digest/…) under the paths given: "
            "nothing can be verified"
        )
        raise typer.Exit(EXIT_USAGE)
    keys: list[PublicKey] | None = None
    known: dict[str, Signature] = {}
    try:
        if public_keys:
            keys = [k for path in public_keys for k in load_public_keys(path)]
        for path in signatures or ():
            for key, signature in load_signatures(path).items():
                if key in known and known[key].hex != signature.hex:
                    raise InputFileError(
                        path, f"a different signature for {key!r} than {known[key].source}"
                    )
                known[key] = signature
    except InputFileError as exc:
        safe.say(f"error: {exc}")
        raise typer.Exit(EXIT_USAGE) from None
    for path, kind in found.skipped_special:
        safe.say(f"warning: {path}: not read ({kind})")
    result = run_verify(
        VerifyInputs(
            digest_paths=digest_paths,
            log_paths=[f.path for f in found.files],
            public_keys=keys,
            signatures=known,
            max_log_bytes=parse_size(max_decompressed_size),
            read_sidecars=not no_sidecars,
        )
    )
    handle = output.open("w", encoding="utf-8") if output is not None else None
    try:
        if output_format is VerifyFormat.json:
            write_json(result, handle or sys.stdout)
        elif output_format is VerifyFormat.ndjson:
            write_ndjson(result, handle or sys.stdout)
        else:
            print_verify(safe.console(file=handle, width=200 if handle else None), result)
    finally:
        if handle is not None:
            handle.close()
    raise typer.Exit(EXIT_FOUND if result.failures else EXIT_CLEAN)


EPILOG = "\b\n" + "\n".join(
    [
        "Exit status:",
        f"  {EXIT_CLEAN}  every item checked is intact (what was not checked is listed)",
        f"  {EXIT_FOUND}  an integrity failure (log file modified, missing or in no digest;",
        "     digest missing or invalid; signature that does not verify)",
        f"  {EXIT_USAGE}  usage error, no such path, no digest file, or an unusable",
        "     --public-keys / --signatures file",
        f"  {EXIT_INTERNAL}  internal error (kmslog --debug ... shows the traceback)",
    ]
)


def register(app: typer.Typer) -> None:
    app.command("verify", help=HELP, epilog=EPILOG)(verify)
