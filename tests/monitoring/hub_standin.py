"""A small stand-in for the Hugging Face Hub, real HTTP on 127.0.0.1, for the sync and deploy tests.

It implements only the routes `huggingface_hub` calls for our use (read from its source:
`hf_api.create_repo`, `_commit_api._fetch_upload_modes` / `_send_commit`, `hf_api.repo_info`,
`hf_api.list_repo_tree`, `file_download.get_hf_file_metadata` and the download GET), for dataset
repos (the prediction log) and Space repos (`scripts/deploy_space.py`); {kind} is `datasets` or `spaces`:

    POST /api/repos/create                                  create (409 + url when it exists)
    POST /api/validate-yaml                                 README metadata check (always fine)
    POST /api/{kind}/{ns}/{name}/preupload/{rev}            every file "regular" (no LFS, no Xet)
    POST /api/{kind}/{ns}/{name}/commit/{rev}               NDJSON: header, file (base64), deletions
    GET  /api/{kind}/{ns}/{name}[/revision/{rev}]           repo info with the head commit sha
    GET  /api/{kind}/{ns}/{name}/tree/{rev}[/{path}]        file listing (one page)
    HEAD|GET /{kind}/{ns}/{name}/resolve/{rev}/{path}       file metadata / content
    GET  /api/whoami-v2                                     who the token is
    POST /api/spaces/{ns}/{name}/secrets|variables          a Space secret / variable (key, value)
    POST /api/datasets/{ns}/{name}/super-squash/{branch}    history squashed to one commit (storage)

Datasets live in `StandInHub.repos`, Spaces in `StandInHub.spaces` (with the SDK they were created with).

Files live in memory, one immutable snapshot per commit. `fail(...)` makes chosen routes answer an
error status (503 by default) for a number of requests or until `recover()`. Responses never
advertise Xet (no X-Xet-* headers, no xetHash), so the client uses plain HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

_REPO = r"(?P<kind>datasets|spaces)/(?P<repo>[^/]+/[^/]+)"
_ROUTES: list[tuple[str, str, re.Pattern[str]]] = [
    ("POST", "create", re.compile(r"^/api/repos/create$")),
    ("POST", "validate", re.compile(r"^/api/validate-yaml$")),
    ("GET", "whoami", re.compile(r"^/api/whoami-v2$")),
    ("POST", "setting", re.compile(r"^/api/spaces/(?P<repo>[^/]+/[^/]+)/(?P<what>secrets|variables)$")),
    ("POST", "preupload", re.compile(rf"^/api/{_REPO}/preupload/(?P<rev>[^/]+)$")),
    ("POST", "commit", re.compile(rf"^/api/{_REPO}/commit/(?P<rev>[^/]+)$")),
    ("GET", "tree", re.compile(rf"^/api/{_REPO}/tree/(?P<rev>[^/]+)(?:/(?P<path>.*))?$")),
    ("GET", "info", re.compile(rf"^/api/{_REPO}(?:/revision/(?P<rev>[^/]+))?$")),
    ("HEAD", "resolve", re.compile(rf"^/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")),
    ("GET", "resolve", re.compile(rf"^/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<path>.+)$")),
    # --- storage (issue 18): history squash -------------------------------------------------------
    ("POST", "squash", re.compile(rf"^/api/{_REPO}/super-squash/(?P<rev>[^/]+)$")),
    # --- end storage ------------------------------------------------------------------------------
]


def _route(method: str, path: str) -> tuple[str, re.Match[str]] | None:
    for route_method, name, pattern in _ROUTES:
        match = pattern.match(path)
        if route_method == method and match:
            return name, match
    return None


def git_blob_sha(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


@dataclass
class Repo:
    private: bool
    sdk: str | None = None  # Spaces only: "docker", "gradio", ...
    secrets: dict[str, str] = field(default_factory=dict)  # Spaces only
    variables: dict[str, str] = field(default_factory=dict)  # Spaces only
    commits: list[tuple[str, dict[str, bytes]]] = field(default_factory=list)  # (sha, snapshot)

    @property
    def head(self) -> tuple[str, dict[str, bytes]]:
        return self.commits[-1] if self.commits else ("0" * 40, {})

    def snapshot(self, rev: str) -> tuple[str, dict[str, bytes]] | None:
        if rev == "main":
            return self.head
        return next((c for c in self.commits if c[0] == rev), None)


class StandInHub:
    """The server and its state; use as a context manager or call `start()` / `stop()`."""

    def __init__(self, *, token: str | None = None) -> None:
        self.token = token
        self.repos: dict[str, Repo] = {}  # datasets
        self.spaces: dict[str, Repo] = {}
        self.requests: list[tuple[str, str]] = []  # (method, route name)
        self.auth_headers: list[str] = []
        self._lock = threading.RLock()
        self._failing: tuple[int, set[str] | None, int | None] | None = None
        self._server: ThreadingHTTPServer | None = None
        # --- storage (issue 18): what the pushes cost --------------------------------------------
        self.uploaded_bytes = 0  # decoded content of every file a commit added
        self.request_bytes = 0  # raw bodies of preupload and commit requests (base64 on the wire)
        self.delays: dict[str, float] = {}  # route -> seconds to wait before answering

    # -- control -------------------------------------------------------------------------------

    def start(self) -> StandInHub:
        hub = self

        class Handler(_Handler):
            state = hub

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> StandInHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def fail(self, *, status: int = 503, routes: Iterable[str] | None = None, times: int | None = None) -> None:
        """Answer `status` on `routes` (all when None) for `times` requests (until `recover()` when None)."""
        with self._lock:
            self._failing = (status, set(routes) if routes is not None else None, times)

    def recover(self) -> None:
        with self._lock:
            self._failing = None

    def store(self, kind: str) -> dict[str, Repo]:
        """The repos of one kind: `datasets` or `spaces`."""
        return self.spaces if kind == "spaces" else self.repos

    def files(self, repo_id: str, *, kind: str = "datasets") -> dict[str, bytes]:
        with self._lock:
            return dict(self.store(kind)[repo_id].head[1])

    def count(self, route: str) -> int:
        with self._lock:
            return sum(1 for _, name in self.requests if name == route)

    # --- storage (issue 18) -----------------------------------------------------------------------

    def slow(self, route: str, seconds: float) -> None:
        """Make every request of `route` wait `seconds` (a slow download, for the restore tests)."""
        with self._lock:
            self.delays[route] = seconds

    def revisions(self, repo_id: str) -> list[dict[str, bytes]]:
        """Every snapshot the repo keeps, oldest first (one after a squash)."""
        with self._lock:
            return [snapshot for _, snapshot in self.repos[repo_id].commits]

    def squash(self, repo_id: str) -> None:
        with self._lock:
            repo = self.repos[repo_id]
            if repo.commits:
                repo.commits = [repo.commits[-1]]

    # --- end storage ------------------------------------------------------------------------------

    # -- used by the handler -------------------------------------------------------------------

    def failure_for(self, route: str) -> int | None:
        with self._lock:
            if self._failing is None:
                return None
            status, routes, times = self._failing
            if routes is not None and route not in routes:
                return None
            if times is not None:
                self._failing = (status, routes, times - 1) if times > 1 else None
            return status

    def commit(self, repo_id: str, lines: list[dict[str, Any]], *, kind: str = "datasets") -> str:
        with self._lock:
            repo = self.store(kind)[repo_id]
            files = dict(repo.head[1])
            for item in lines:
                key, value = item["key"], item["value"]
                if key == "file":
                    if value.get("encoding") != "base64":
                        raise ValueError("only base64 content is supported")
                    files[value["path"]] = base64.b64decode(value["content"])
                    self.uploaded_bytes += len(files[value["path"]])
                elif key == "deletedFile":
                    files.pop(value["path"], None)
                elif key == "deletedFolder":
                    prefix = value["path"].rstrip("/") + "/"
                    files = {p: c for p, c in files.items() if not p.startswith(prefix)}
                elif key != "header":
                    raise ValueError(f"unsupported commit operation {key!r}")
            sha = hashlib.sha1(f"{repo_id}:{len(repo.commits)}:{sorted(files)}".encode()).hexdigest()
            repo.commits.append((sha, files))
            return sha


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the client expects; every answer has a length
    state: StandInHub

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_HEAD(self) -> None:
        self._dispatch("HEAD")

    def do_POST(self) -> None:
        self._dispatch("POST")

    # -- plumbing ------------------------------------------------------------------------------

    def _dispatch(self, method: str) -> None:
        path = unquote(urlsplit(self.path).path)
        body = self._body()
        found = _route(method, path)
        if found is None:
            return self._send(404, {"error": f"no route {method} {path}"})
        name, match = found
        with self.state._lock:
            self.state.requests.append((method, name))
            self.state.auth_headers.append(self.headers.get("authorization", ""))
        if name in ("commit", "preupload"):
            with self.state._lock:
                self.state.request_bytes += len(body)
        delay = self.state.delays.get(name)
        if delay:
            time.sleep(delay)
        status = self.state.failure_for(name)
        if status is not None:
            return self._send(status, {"error": "stand-in hub is down"})
        if self.state.token and self.headers.get("authorization") != f"Bearer {self.state.token}":
            return self._send(
                401,
                {"error": "Invalid credentials"},
                {"X-Error-Message": "Invalid credentials in Authorization header"},
            )
        getattr(self, f"_{name}")(body=body, **{k: v for k, v in match.groupdict().items()})

    def _body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().strip() or b"0", 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("content-length") or 0))

    def _send(
        self, status: int, payload: Any = None, headers: dict[str, str] | None = None, raw: bytes | None = None
    ) -> None:
        data = raw if raw is not None else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream" if raw is not None else "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _repo(self, repo_id: str, kind: str) -> Repo | None:
        repo = self.state.store(kind).get(repo_id)
        if repo is None:
            self._send(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
        return repo

    # -- routes --------------------------------------------------------------------------------

    def _create(self, *, body: bytes) -> None:
        payload = json.loads(body)
        repo_id = f"{payload.get('organization') or 'user'}/{payload['name']}"
        kind = {"space": "spaces", "dataset": "datasets"}.get(payload.get("type") or "", "")
        if not kind:
            return self._send(400, {"error": f"the stand-in has no {payload.get('type') or 'model'} repos"})
        if kind == "spaces" and not payload.get("sdk"):
            return self._send(400, {"error": "a Space needs an sdk"})
        url = f"{self.state.url}/{kind}/{repo_id}"
        with self.state._lock:
            store = self.state.store(kind)
            if repo_id in store:
                return self._send(409, {"error": f"You already created this {kind[:-1]} repo", "url": url})
            store[repo_id] = Repo(private=payload.get("visibility") == "private", sdk=payload.get("sdk"))
        self._send(200, {"url": url, "name": repo_id})

    def _setting(self, *, body: bytes, repo: str, what: str) -> None:
        found = self._repo(repo, "spaces")
        if found is None:
            return
        payload = json.loads(body)
        with self.state._lock:
            getattr(found, what)[payload["key"]] = payload["value"]
        if what == "variables":
            return self._send(200, {k: {"value": v} for k, v in found.variables.items()})
        self._send(200, {})

    def _validate(self, *, body: bytes) -> None:
        self._send(200, {"errors": [], "warnings": []})

    def _whoami(self, *, body: bytes) -> None:
        self._send(200, {"name": "user", "type": "user", "auth": {"type": "access_token"}})

    def _preupload(self, *, body: bytes, kind: str, repo: str, rev: str) -> None:
        if self._repo(repo, kind) is None:
            return
        files = json.loads(body)["files"]
        self._send(200, {"files": [{"path": f["path"], "uploadMode": "regular", "shouldIgnore": False} for f in files]})

    def _commit(self, *, body: bytes, kind: str, repo: str, rev: str) -> None:
        if self._repo(repo, kind) is None:
            return
        try:
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
            sha = self.state.commit(repo, lines, kind=kind)
        except (ValueError, KeyError) as exc:
            return self._send(400, {"error": str(exc)})
        url = f"{self.state.url}/{kind}/{repo}/commit/{sha}"
        self._send(200, {"commitUrl": url, "commitOid": sha, "success": True})

    def _info(self, *, body: bytes, kind: str, repo: str, rev: str | None) -> None:
        found = self._repo(repo, kind)
        if found is None:
            return
        snapshot = found.snapshot(rev or "main")
        if snapshot is None:
            return self._send(404, {"error": "Revision not found"}, {"X-Error-Code": "RevisionNotFound"})
        sha, files = snapshot
        info = {"id": repo, "sha": sha, "private": found.private, "siblings": [{"rfilename": p} for p in sorted(files)]}
        if found.sdk is not None:
            info["sdk"] = found.sdk
        self._send(200, info)

    def _tree(self, *, body: bytes, kind: str, repo: str, rev: str, path: str | None) -> None:
        found = self._repo(repo, kind)
        if found is None:
            return
        snapshot = found.snapshot(rev)
        if snapshot is None:
            return self._send(404, {"error": "Revision not found"}, {"X-Error-Code": "RevisionNotFound"})
        prefix = f"{path.strip('/')}/" if path else ""
        entries = [
            {"type": "file", "path": p, "size": len(c), "oid": git_blob_sha(c)}
            for p, c in sorted(snapshot[1].items())
            if p.startswith(prefix)
        ]
        self._send(200, entries)

    def _resolve(self, *, body: bytes, kind: str, repo: str, rev: str, path: str) -> None:
        found = self._repo(repo, kind)
        if found is None:
            return
        snapshot = found.snapshot(rev)
        if snapshot is None:
            return self._send(404, {"error": "Revision not found"}, {"X-Error-Code": "RevisionNotFound"})
        sha, files = snapshot
        if path not in files:
            return self._send(
                404, {"error": "Entry not found"}, {"X-Error-Code": "EntryNotFound", "X-Repo-Commit": sha}
            )
        content = files[path]
        self._send(200, raw=content, headers={"X-Repo-Commit": sha, "ETag": f'"{git_blob_sha(content)}"'})

    # --- storage (issue 18) -----------------------------------------------------------------------

    def _squash(self, *, body: bytes, kind: str, repo: str, rev: str) -> None:
        if self._repo(repo, kind) is None:
            return
        self.state.squash(repo)
        self._send(200, {"success": True})

    # --- end storage ------------------------------------------------------------------------------
