"""s3:// sources against a real S3 API (moto's server) on loopback, behind a small
HTTP proxy that counts requests, throttles and cuts bodies."""

from __future__ import annotations

import http.client
import json
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

boto3 = pytest.importorskip("boto3", reason="the [s3] extra (boto3) is not installed")
moto_server = pytest.importorskip("moto.server", reason="moto[server] is not installed")

from typer.testing import CliRunner  # noqa: E402

from kmslog.cli import app  # noqa: E402
from kmslog.sources import s3  # noqa: E402

SAMPLE = Path(__file__).resolve().parents[1] / "sample_logs"


class Proxy:
    def __init__(self, upstream: int) -> None:
        self.upstream = upstream
        self.requests: list[tuple[str, str]] = []
        self.throttle = 0
        self.cut: dict[str, int] = {}  # key path → times left to cut its body
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                with proxy.lock:
                    proxy.requests.append((self.command, self.path))
                    throttled = proxy.throttle > 0
                    proxy.throttle -= throttled
                    path = self.path.split("?")[0]
                    cut = self.command == "GET" and proxy.cut.get(path, 0) > 0
                    if cut:
                        proxy.cut[path] -= 1
                if throttled:
                    text = b"<Error><Code>SlowDown</Code><Message>Slow down</Message></Error>"
                    self.send_response(503)
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    self.wfile.write(text)
                    return
                conn = http.client.HTTPConnection("127.0.0.1", proxy.upstream)
                headers = {k: v for k, v in self.headers.items()}
                conn.request(self.command, self.path, body=body, headers=headers)
                reply = conn.getresponse()
                data = reply.read()
                self.send_response(reply.status)
                for k, v in reply.getheaders():
                    if k.lower() not in ("transfer-encoding", "connection", "server", "date"):
                        self.send_header(k, v)
                self.end_headers()
                if cut:
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(data)

            do_GET = do_PUT = do_HEAD = do_POST = do_DELETE = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def lists(self, bucket: str) -> list[str]:
        return [p for m, p in self.requests if m == "GET" and "list-type=2" in p]


@pytest.fixture(scope="session")
def server() -> Iterator[int]:
    srv = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    srv.start()
    yield srv.get_host_and_port()[1]
    srv.stop()


@pytest.fixture
def proxy(server: int, monkeypatch: pytest.MonkeyPatch) -> Iterator[Proxy]:
    p = Proxy(server)
    for k, v in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setattr(s3, "STREAM_BACKOFF", 0.01)
    s3.configure(s3.S3Settings(endpoint_url=f"http://127.0.0.1:{p.port}", max_attempts=5))
    yield p
    p.server.shutdown()
    monkeypatch.delenv(s3.SETTINGS_ENV, raising=False)


def _bucket(server: int, name: str, root: Path, prefix: str = "", **extra: Any) -> Any:
    c = boto3.client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{server}",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    c.create_bucket(Bucket=name, **({"ACL": "public-read"} if extra else {}))
    for f in sorted(root.rglob("*")):
        if f.is_file():
            c.put_object(
                Bucket=name, Key=prefix + f.relative_to(root).as_posix(), Body=f.read_bytes()
            )
    return c


def _scan(*args: str) -> dict[str, Any]:
    result = CliRunner().invoke(app, ["scan", "--format", "json", "--no-progress", *args])
    assert result.exit_code in (0, 1), result.output
    return json.loads(result.stdout)


def _same(remote: dict[str, Any], local: dict[str, Any], url: str, path: str) -> None:
    text = json.dumps(remote).replace(url, "ROOT/")
    assert json.loads(text) == json.loads(json.dumps(local).replace(path, "ROOT/"))


def test_scan_s3_equals_local_copy(server: int, proxy: Proxy, tmp_path: Path) -> None:
    _bucket(server, "plain", SAMPLE)
    remote = _scan("s3://plain/")
    local = _scan(str(SAMPLE) + "/")
    _same(remote, local, "s3://plain/", str(SAMPLE) + "/")
    assert remote["summary"]["records"] == local["summary"]["records"]
    assert remote["summary"]["files"] == local["summary"]["files"]


def test_objects_decode_natively_as_the_python_path_does(server: int, proxy: Proxy) -> None:
    from kmslog.decode.native import available, decode_files  # noqa: PLC0415

    if not available():
        pytest.skip("the native engine is not built")
    day = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/09/15/"
    _bucket(server, "native", SAMPLE / day, prefix=day)
    found = s3.discover(["s3://native/"], None, None, frozenset(), frozenset())
    urls = [f.path for f in found.files][:20]
    assert urls
    gets = len([m for m, _ in proxy.requests if m == "GET"])
    results = decode_files(urls, 1 << 30)
    # fetched once each and decoded from memory, not handed back to the Python path
    assert all(r.batch is not None for r in results), [r.fallback for r in results]
    assert len([m for m, _ in proxy.requests if m == "GET"]) - gets == len(urls)
    assert [r.source for r in results] == urls
    native = _scan("s3://native/", "--engine", "native")
    python = _scan("s3://native/", "--engine", "python")
    assert native == python


def test_org_layout_pruned_listing(server: int, proxy: Proxy, tmp_path: Path) -> None:
    org = tmp_path / "org"
    shutil.copytree(SAMPLE / "AWSLogs", org / "AWSLogs" / "o-abc123def4")
    _bucket(server, "org", org)
    accounts = sorted(p.name for p in (SAMPLE / "AWSLogs").iterdir() if p.is_dir())
    regions = sorted({p.name for p in (SAMPLE / "AWSLogs").glob("*/CloudTrail/*")})
    remote = _scan("s3://org/", "--account", accounts[0], "--region", regions[0])
    local = _scan(str(org) + "/", "--account", accounts[0], "--region", regions[0])
    # Pruned prefixes are never listed, so their objects are not counted as pruned.
    for doc in (remote, local):
        doc["summary"].pop("files")
    _same(remote, local, "s3://org/", str(org) + "/")
    lists = proxy.lists("org")
    assert lists, "no listing seen"
    for other in accounts[1:]:
        assert not any(other in p for p in lists), "a pruned account was listed"
    for other in regions[1:]:
        assert not any(other in p for p in lists), "a pruned region was listed"
    assert not any("CloudTrail-Digest" in p for p in lists)


def test_pagination_digests_insights_throttle_and_cut(
    server: int, proxy: Proxy, tmp_path: Path
) -> None:
    import gzip

    root = tmp_path / "many"
    day = root / "AWSLogs/111122223333/CloudTrail/us-east-1/2024/05/01"
    day.mkdir(parents=True)
    for i in range(1100):
        record = {
            "eventVersion": "1.08",
            "eventID": f"id-{i}",
            "eventTime": "2024-05-01T00:00:00Z",
            "eventSource": "kms.amazonaws.com",
            "eventName": "Decrypt",
            "recipientAccountId": "111122223333",
            "awsRegion": "us-east-1",
        }
        stamp = f"20240501T{i // 60 % 24:02d}{i % 60:02d}Z"
        name = f"111122223333_CloudTrail_us-east-1_{stamp}_u{i:05d}.json.gz"
        (day / name).write_bytes(gzip.compress(json.dumps({"Records": [record]}).encode()))
    digest = root / "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/05/01"
    digest.mkdir(parents=True)
    (digest / "111122223333_CloudTrail-Digest_us-east-1_x_20240501T0000Z.json.gz").write_bytes(b"x")
    insight = root / "AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2024/05/01"
    insight.mkdir(parents=True)
    (insight / "111122223333_CloudTrail-Insight_us-east-1_20240501T0000Z_a.json.gz").write_bytes(
        b"x"
    )
    _bucket(server, "many", root)
    cut_key = "/many/" + sorted(p.relative_to(root).as_posix() for p in day.iterdir())[3]
    proxy.throttle = 2
    proxy.cut[cut_key] = 1
    remote = _scan("s3://many/", "--engine", "python", "--jobs", "1")
    files = remote["summary"]["files"]
    assert remote["summary"]["records"]["kept"] == 1100, remote["summary"]
    assert files["read"] == 1100 and files["failed"] == 0
    assert files["skipped_digest"] == 1 and files["skipped_insight"] == 1
    # More than 1,000 keys under one prefix: a second page was asked for.
    assert any("continuation-token" in p for p in proxy.lists("many"))
    assert proxy.throttle == 0 and proxy.cut[cut_key] == 0
    # A body cut every time: the object fails, named by its URL, and the run goes on.
    proxy.cut[cut_key] = 100
    remote = _scan("s3://many/", "--engine", "python", "--jobs", "1")
    assert remote["summary"]["files"]["failed"] == 1
    assert remote["summary"]["records"]["kept"] == 1099
    assert any(r["source"] == "s3:/" + cut_key for r in remote["summary"]["rejections"])


def test_missing_boto3_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins

    real = builtins.__import__

    def no_boto(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("boto"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_boto)
    monkeypatch.setattr(s3, "_clients", {})
    result = CliRunner().invoke(app, ["scan", "--no-progress", "s3://b/"])
    assert result.exit_code == 2
    assert "pip install 'kmslog[s3]'" in result.output


def test_cli_endpoint_and_unsigned(
    server: int, proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(s3.SETTINGS_ENV)
    c = _bucket(
        server,
        "public",
        SAMPLE / "AWSLogs" / sorted(os.listdir(SAMPLE / "AWSLogs"))[0],
        ACL="public-read",
    )
    assert c is not None
    endpoint = f"http://127.0.0.1:{proxy.port}"
    args = ["--endpoint-url", endpoint, "--no-sign-request", "s3://public/"]
    remote = _scan(*args)
    assert remote["summary"]["files"]["read"] > 0
    # The unsigned requests carried no Authorization header through the proxy.
    assert s3.settings().no_sign_request and s3.settings().endpoint_url == endpoint


def test_ingest_from_s3_reads_only_new_or_changed_objects(
    server: int, proxy: Proxy, tmp_path: Path
) -> None:
    from tests.ingest_fixtures import layout_path, record, write_trail

    logs, store = tmp_path / "logs", tmp_path / "store"
    one = write_trail(layout_path(logs, unique="A" * 16), [record(i) for i in range(3)])
    client = _bucket(server, "ingest", logs)

    def ingest() -> dict[str, Any]:
        args = ["ingest", "s3://ingest/", "--store", str(store), "--format", "json"]
        result = CliRunner().invoke(app, [*args, "--no-progress"])
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    assert ingest()["records"]["added"] == 3
    assert ingest()["sources"]["unchanged"] == 1
    from kmslog.store.manifest import load

    (entry,) = load(str(store), must_exist=True).sources.values()
    assert entry.etag and entry.mtime_ns is None
    # Same key, other content: a new ETag.
    write_trail(one, [record(i) for i in range(1, 4)])
    key = one.relative_to(logs).as_posix()
    client.put_object(Bucket="ingest", Key=key, Body=one.read_bytes())
    again = ingest()
    assert again["sources"]["ingested"] == 1
    assert again["records"]["added"] == 1
    assert again["records"]["duplicate"] == 2
    remote = _scan("--store", str(store))["summary"]["records"]
    assert remote["kept"] == 4
