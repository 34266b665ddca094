"""A typed client for the Rewind service (docs/api.md), for scripts and notebooks.

    from rewind_client import Client

    rewind = Client("http://127.0.0.1:8080")          # or REWIND_URL / REWIND_API_KEY
    job = rewind.submit({"dataset": {"name": "digits"}, "meta": {"iterations": 20}})
    job = rewind.wait(job["id"])                       # polls until it ends
    best = rewind.result(job["id"])["best"]
    table = rewind.schedule(job["id"])                 # the learned schedule, per iteration and block

Every error answer of the service raises `RewindError` with the problem's fields (`status`,
`title`, `detail`, `type`, `errors` as `FieldError`s naming JSON Pointers). Standard library only.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Union

__all__ = ["Client", "RewindError", "FieldError", "JobTimeout", "TERMINAL_STATUSES", "new_idempotency_key"]
__version__ = "0.1.0"

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})

JSONObject = Dict[str, Any]


@dataclass(frozen=True)
class FieldError:
    """One offending field: a JSON Pointer into the request (`/training/iterations`) and why."""

    field: str
    message: str


@dataclass
class RewindError(Exception):
    """An `application/problem+json` answer (or a non-JSON error) from the service."""

    status: int
    title: str
    detail: str = ""
    type: str = "about:blank"
    errors: List[FieldError] = field(default_factory=list)
    body: JSONObject = field(default_factory=dict)

    def __str__(self) -> str:
        lines = [f"{self.status} {self.title}: {self.detail}"]
        lines += [f"  {error.field or '/'}: {error.message}" for error in self.errors]
        return "\n".join(lines)


class JobTimeout(TimeoutError):
    """`Client.wait` gave up before the job ended; `job` is the last resource seen."""

    def __init__(self, job: JSONObject, timeout: float) -> None:
        super().__init__(f"job {job.get('id')} is still {job.get('status')} after {timeout} s")
        self.job = job


class Client:
    """One Rewind service. `url` defaults to REWIND_URL (else http://127.0.0.1:8080; a URL without
    a scheme means http), `api_key` to REWIND_API_KEY."""

    def __init__(self, url: Optional[str] = None, api_key: Optional[str] = None, timeout: float = 30.0) -> None:
        url = url or os.environ.get("REWIND_URL") or "http://127.0.0.1:8080"
        self.url = (url if "://" in url else "http://" + url).rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("REWIND_API_KEY")
        self.timeout = timeout

    # Jobs

    def submit(self, spec: Union[JSONObject, str, Path], idempotency_key: Optional[str] = None) -> JSONObject:
        """Submits a job spec (a dict, or the path of a JSON file); returns the job resource.
        With `idempotency_key`, a retry of the same spec returns the same job."""
        if not isinstance(spec, dict):
            spec = json.loads(Path(spec).read_text())
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else {}
        return self._object("POST", "/v1/jobs", body=json.dumps(spec).encode(), content_type="application/json", headers=headers)

    def job(self, job_id: str) -> JSONObject:
        """The job resource: status, spec with defaults, progress, latest and best, error."""
        return self._object("GET", f"/v1/jobs/{_segment(job_id)}")

    def jobs(self, status: Optional[str] = None, limit: Optional[int] = None) -> List[JSONObject]:
        """Jobs, newest first (every page, or the first `limit`)."""
        found: List[JSONObject] = []
        token: Optional[str] = None
        while True:
            query: Dict[str, Any] = {"limit": 200}
            if status:
                query["status"] = status
            if token:
                query["page_token"] = token
            page = self._object("GET", "/v1/jobs?" + urllib.parse.urlencode(query))
            found += page["jobs"]
            token = page.get("next_page_token")
            if not token or (limit is not None and len(found) >= limit):
                return found[:limit] if limit is not None else found

    def wait(self, job_id: str, timeout: Optional[float] = None, poll: float = 0.5) -> JSONObject:
        """Polls until the job is succeeded, failed or cancelled and returns it (it does not
        raise for a failed job: read `job["error"]`). Raises `JobTimeout` after `timeout` s."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["status"] in TERMINAL_STATUSES:
                return job
            if deadline is not None and time.monotonic() >= deadline:
                raise JobTimeout(job, timeout or 0)
            time.sleep(poll)

    def warnings(self, job_id: str) -> List[JSONObject]:
        """The job's warnings, `[{"code", "detail"}]`: what its data, split or outcome give reason
        to doubt (a model no better than the majority class, sorted labels not shuffled, ...)."""
        return list(self.job(job_id).get("warnings", []))

    def history(self, job_id: str, after: int = -1) -> List[JSONObject]:
        """Every history item after `after` (all by default), in order."""
        items: List[JSONObject] = []
        while True:
            page = self._object("GET", f"/v1/jobs/{_segment(job_id)}/history?after={after}&limit=1000")
            items += page["items"]
            if page.get("next_after") is None:
                return items
            after = page["next_after"]

    def result(self, job_id: str) -> JSONObject:
        """`{"best", "final", "partial"}`: a succeeded job's best and final items, or a failed or
        cancelled job's best so far (`partial` true)."""
        return self._object("GET", f"/v1/jobs/{_segment(job_id)}/result")

    def schedule(self, job_id: str, item: Optional[int] = None) -> JSONObject:
        """One item's hyperparameters as training applied them (default the best item):
        `learning_rate` and `momentum` (T × K), `l2`, `init_scale`, `blocks`; for a job with
        `training.optimizer` "adam", `optimizer`, `beta1`, `beta2` (T × K, and `*_applied`),
        `epsilon` and `weight_decay` (K; null with `weight_decay_per_parameter` (N) when it is
        learned per weight) in place of `momentum`."""
        query = f"?item={item}" if item is not None else ""
        return self._object("GET", f"/v1/jobs/{_segment(job_id)}/schedule{query}")

    def transforms(self, job_id: str, item: Optional[int] = None) -> JSONObject:
        """A weight-sharing job's (`"kind": "weight_sharing"`) transforms: `{"tasks": [...],
        "transforms": [T_1, T_2, ...]}`, each T_l a list of rows (row a: task a's layer l as a mix of
        every task's shared z_l, columns in the order of `tasks`). Default the learned ones (the
        result's final item); `item` picks a history item's. ValueError for another kind of job or an
        item it has not written."""
        if item is None:
            chosen = self.result(job_id)["final"]
        else:
            chosen = next((entry for entry in self.history(job_id) if entry["meta_iteration"] == item), None)
            if chosen is None:
                raise ValueError(f"job {job_id} has no history item {item}")
        if "transforms" not in chosen["hyperparameters"]:
            raise ValueError(f"job {job_id} is not a weight-sharing job: it learns no transforms")
        return {"tasks": chosen["sharing"]["tasks"], "transforms": chosen["hyperparameters"]["transforms"]}

    def cancel(self, job_id: str) -> JSONObject:
        # An explicit type: urllib would call an empty body a form, which the service treats as a browser's.
        return self._object(
            "POST", f"/v1/jobs/{_segment(job_id)}/cancel", body=b"", content_type="application/json")

    def delete(self, job_id: str) -> None:
        self._request("DELETE", f"/v1/jobs/{_segment(job_id)}")

    # Data sets

    def upload_dataset(self, data: Union[str, Path, bytes], name: Optional[str] = None) -> JSONObject:
        """Uploads a CSV (a path or its bytes): numeric features, the class label 0..K-1 last; or
        a .npz archive holding x and y (see `upload_arrays`).
        `name` defaults to the file name without its extension. Returns the data set resource
        (the stored one if the same bytes were uploaded before)."""
        if isinstance(data, bytes):
            if name is None:
                raise ValueError("name is required when uploading bytes")
            content = data
        else:
            path = Path(data)
            content = path.read_bytes()
            name = name or path.stem
        # A .npz file (as numpy.savez writes it) is sent as an archive, anything else as CSV.
        archive = content.startswith(b"PK\x03\x04")
        return self._object(
            "POST", "/v1/datasets?" + urllib.parse.urlencode({"name": name}), body=content,
            content_type="application/x-npz" if archive else "text/csv")

    def upload_arrays(self, name: str, x: Any, y: Any, compressed: bool = True) -> JSONObject:
        """Uploads NumPy arrays as one .npz archive: `x` holds the rows (N x D, N x H x W or
        N x H x W x C; uint8, float32 or float64), `y` the N integer labels 0..K-1. Images keep
        their shape ([H, W, C]) for conv layers. numpy is imported only here."""
        import io

        import numpy as np  # only this method needs numpy

        buffer = io.BytesIO()
        save = np.savez_compressed if compressed else np.savez
        save(buffer, x=np.ascontiguousarray(x), y=np.ascontiguousarray(y))
        return self._object(
            "POST", "/v1/datasets?" + urllib.parse.urlencode({"name": name}), body=buffer.getvalue(),
            content_type="application/x-npz")

    def datasets(self) -> List[JSONObject]:
        """Built-in and uploaded data sets."""
        return list(self._object("GET", "/v1/datasets")["datasets"])

    def delete_dataset(self, dataset_id: str) -> None:
        self._request("DELETE", f"/v1/datasets/{_segment(dataset_id)}")

    # Transport

    def _object(self, method: str, path: str, body: Optional[bytes] = None, content_type: Optional[str] = None,
                headers: Optional[Dict[str, str]] = None) -> JSONObject:
        raw = self._request(method, path, body, content_type, headers)
        value = json.loads(raw) if raw else None
        if not isinstance(value, dict):
            raise RewindError(status=200, title="Unexpected answer", detail=f"expected a JSON object from {path}")
        return value

    def _request(self, method: str, path: str, body: Optional[bytes] = None, content_type: Optional[str] = None,
                 headers: Optional[Dict[str, str]] = None) -> bytes:
        request = urllib.request.Request(self.url + path, data=body, method=method)
        request.add_header("Accept", "application/json")
        if content_type:
            request.add_header("Content-Type", content_type)
        if self.api_key:
            request.add_header("Authorization", f"Bearer {self.api_key}")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return bytes(response.read())
        except urllib.error.HTTPError as error:
            raise _problem(error.code, error.read()) from None


def _segment(text: str) -> str:
    return urllib.parse.quote(str(text), safe="")


def _problem(status: int, raw: bytes) -> RewindError:
    try:
        body = json.loads(raw)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return RewindError(status=status, title="HTTP error", detail=raw[:300].decode(errors="replace"))
    errors = [FieldError(str(e.get("field", "")), str(e.get("message", ""))) for e in body.get("errors") or []]
    return RewindError(
        status=int(body.get("status", status)), title=str(body.get("title", "")), detail=str(body.get("detail", "")),
        type=str(body.get("type", "about:blank")), errors=errors, body=body)


# A fresh idempotency key, for callers that want retries to be safe.
def new_idempotency_key() -> str:
    return str(uuid.uuid4())
