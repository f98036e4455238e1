"""Runs on a Dask cluster: the groups of a run as Dask tasks, behind the same
``concurrent.futures`` interface as the process pool, so the executor's fold (groups
combined in path order, dedup and its re-reads) is the same and so are the results.

``--dask tcp://HOST:PORT`` joins a running scheduler (every worker needs kmslog installed,
the same version, and must be able to read the inputs: local paths on a shared filesystem,
or ``s3://``); ``--dask local:N`` starts a LocalCluster of N worker processes on loopback for
the run. What crosses the network per group is the analyses' partial states and the dedup
hashes, never the records.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

# How long to wait for a scheduler to answer before the run fails.
CONNECT_TIMEOUT = "20s"
_LOCAL = re.compile(r"^local:(\d{1,3})$")
_REMOTE = re.compile(r"^(tcp|tls|ws|wss|inproc)://[^\s]+$")


class DaskUnavailable(Exception):
    """The dask extra is not installed, or the address cannot be used."""


def check_address(address: str) -> str:
    """The address as given, when it is one ``--dask`` understands."""
    match = _LOCAL.match(address)
    if match:
        if not 1 <= int(match.group(1)) <= 256:
            raise DaskUnavailable(f"--dask {address}: local:N needs 1 <= N <= 256")
        return address
    if _REMOTE.match(address):
        return address
    raise DaskUnavailable(
        f"--dask {address!r}: expected a scheduler address (tcp://HOST:PORT) or local:N"
    )


class DaskExecutor(Executor):
    """``submit`` on a ``distributed.Client``, each Dask future mirrored by a
    ``concurrent.futures.Future``; ``shutdown`` closes the client (and the cluster
    when this executor started it)."""

    def __init__(self, client: Any, cluster: Any = None) -> None:
        self._client = client
        self._cluster = cluster
        self._lock = threading.Lock()
        # Dask releases a task's result when its future is garbage collected: each is
        # held until it is done.
        self._pending: dict[int, Any] = {}

    @property
    def workers(self) -> int:
        return len(self._client.scheduler_info().get("workers", {}))

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        mirror: Future[Any] = Future()
        task = self._client.submit(fn, *args, pure=False, **kwargs)
        with self._lock:
            self._pending[id(task)] = task

        def settle(done: Any) -> None:
            try:
                if done.status == "cancelled":
                    mirror.cancel()
                else:
                    mirror.set_result(done.result())
            except BaseException as exc:  # noqa: BLE001 - delivered through the future
                if not mirror.done():
                    mirror.set_exception(exc)
            finally:
                with self._lock:
                    self._pending.pop(id(done), None)

        task.add_done_callback(settle)
        return mirror

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        with self._lock:
            pending = list(self._pending.values())
            self._pending.clear()
        if cancel_futures and pending:
            self._client.cancel(pending)
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def dask_executor(address: str) -> DaskExecutor:
    """A client for ``address`` (see the module docstring)."""
    check_address(address)
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise DaskUnavailable("--dask needs the dask extra: pip install 'kmslog[dask]'") from None
    match = _LOCAL.match(address)
    if match:
        cluster = LocalCluster(
            n_workers=int(match.group(1)),
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",  # loopback, any free port
        )
        return DaskExecutor(Client(cluster), cluster)
    try:
        client = Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError) as exc:
        raise DaskUnavailable(f"--dask {address}: cannot reach the scheduler: {exc}") from None
    return DaskExecutor(client)
