"""Two replicas on one log: two real servers (distinct REPLICA_ID) on one log folder, one history
folder and one stand-in Hub dataset, driven at once on both doors (REST single + batch, Gradio API)
while each scores a 1,200-row CSV (logged as a Parquet table shard of its own).

Every acknowledged prediction is in the folder exactly once and in the Hub dataset exactly once;
every shard was written by one process only (the one its name says, holding only that one's
answers); each replica matches the other's predictions (an outcome recorded on A for a loan B
scored); the two never both record one loan.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import orjson
import pandas as pd
import pyarrow.parquet as pq
import pytest

from monitoring.log.reader import read_log
from tests.load import check_log, run_load
from tests.monitoring.hub_standin import StandInHub
from tests.reliability.conftest import record_figures
from tests.server import Server, start_test_server

pytestmark = [pytest.mark.server, pytest.mark.slow]

HF_TOKEN = "hf_standin_token_for_replica_tests"
REPO = "acme/credit-predictions"
REPLICAS = ("replica-a", "replica-b")
SHARD = re.compile(
    r"^(?P<kind>[a-z]+)-(?P<replica>.+)-(?P<start>\d{8}T\d{6}\d*Z)-p(?P<pid>\d+)-(?P<seq>\d+)(\.jsonl|\.table\.parquet)$"
)


def _start(tmp: Path, hub: StandInHub, replica: str) -> Server:
    return start_test_server(
        tmp / replica,
        env={
            "REPLICA_ID": replica,
            "PREDICTION_LOG_DIR": str(tmp / "shared" / "predictions"),
            "HISTORY_DIR": str(tmp / "shared" / "history"),
            "HF_DATASET_REPO": REPO,
            "HF_TOKEN": HF_TOKEN,
            "HF_ENDPOINT": hub.url,
            "HF_HUB_DISABLE_XET": "1",
            "HF_HOME": str(tmp / replica / "hf-home"),
            "HF_PUSH_EVERY_MIN": "0.05",  # a push every 3 s from each: pushes race the load and each other
            "HF_MAX_COMMITS_PER_DAY": "100000",
            "LOG_ID_SALT": "replica-test-salt",
        },
        wait=240,  # two starts at once on a machine shared with other jobs
    )


def _table(server: Server, applications: list[dict]) -> list[str]:
    """A 1,200-row CSV body (a table shard of its own): the request ids it acknowledged."""
    body = pd.DataFrame(applications * 4).to_csv(index=False).encode()
    response = httpx.post(
        server.url + "/api/v1/score/batch", content=body, headers={"content-type": "text/csv"}, timeout=120
    )
    assert response.status_code == 200, response.text[:300]
    return [r["request_id"] for r in response.json()["results"] if r["status"] == "ok"]


def _load(server: Server, applications: list[dict], seed: int) -> tuple[str, list[str]]:
    with ThreadPoolExecutor(1) as side:
        table = side.submit(_table, server, applications)  # during the load, so its write races the pushes
        result = asyncio.run(
            run_load(
                server.url,
                seconds=6,
                concurrency=4,
                payloads=applications,
                gradio_share=0.2,
                batch_share=0.1,
                batch_size=10,
                seed=seed,
            )
        )
        tabled = table.result()
    assert not result.errors, result.errors
    assert len(tabled) == 4 * len(applications)
    return server.url, result.acknowledged + tabled


def _outcomes(server: Server, ids: list[str], *, defaulted: bool) -> list[dict]:
    body = {"outcomes": [{"request_id": rid, "defaulted": defaulted} for rid in ids]}
    response = httpx.post(server.url + "/api/v1/outcomes", json=body, timeout=30)
    assert response.status_code == 200, response.text[:300]
    return response.json()["results"]


def _owners(folder: Path) -> dict[str, Path]:
    """request_id -> the shard holding it, over every prediction shard of the folder."""
    owners: dict[str, Path] = {}
    for shard in folder.glob("date=*/predictions-*.jsonl"):
        for line in shard.read_bytes().splitlines():
            owners[orjson.loads(line)["request_id"]] = shard
    for shard in folder.glob("date=*/predictions-*.table.parquet"):
        owners.update(dict.fromkeys(pq.read_table(shard, columns=["request_id"])["request_id"].to_pylist(), shard))
    return owners


def _hub_ids(hub: StandInHub, folder: Path) -> Counter[str]:
    for rel, content in hub.files(REPO).items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_bytes(content)
    return Counter(read_log([folder]).predictions["request_id"])


def test_two_replicas_share_one_log_and_one_dataset(tmp_path: Path, applications: list[dict]) -> None:
    with StandInHub(token=HF_TOKEN) as hub, ThreadPoolExecutor(2) as pool:
        servers = list(pool.map(lambda r: _start(tmp_path, hub, r), REPLICAS))
        try:
            acked = dict(pool.map(_load, servers, [applications] * 2, [1, 2]))
            a, b = servers
            mine = {s.url: acked[s.url] for s in servers}

            # Each replica reads the whole folder: an outcome for a loan the other one scored is matched.
            crossed = _outcomes(a, mine[b.url][:20], defaulted=False) + _outcomes(b, mine[a.url][:20], defaulted=False)
            assert Counter(r["status"] for r in crossed) == {"recorded": 40}, crossed[:3]

            # Both at once on the same loans, opposite answers: one "recorded" per loan, the other a conflict.
            contested = mine[a.url][20:60]
            barrier = threading.Barrier(2)

            def contest(server: Server, defaulted: bool) -> list[dict]:
                barrier.wait()
                return _outcomes(server, contested, defaulted=defaulted)

            both = [r for part in pool.map(contest, servers, [True, False]) for r in part]
            assert sorted(r["request_id"] for r in both if r["status"] == "recorded") == sorted(contested)
            assert sorted(r["request_id"] for r in both if r["status"] == "conflict") == sorted(contested)
            ready = [httpx.get(s.url + "/readyz").json() for s in servers]
            assert [r["log"]["replica_id"] for r in ready] == list(REPLICAS)
            pushes = ready[0]["hub"]["pushes"]
        finally:
            for server in servers:  # SIGTERM, one after the other: each makes its final push
                server.stop()
        assert pushes >= 2, pushes  # the ledger is the folder's: both replicas' pushes, made during the load

        folder = tmp_path / "shared" / "predictions"
        everything = acked[a.url] + acked[b.url]
        log = check_log(folder, everything)
        assert log["missing_from_log"] == log["logged_twice"] == log["acknowledged_twice"] == 0, log
        assert log["logged"] == len(everything) > 100

        # No shard written by two processes: each names one replica and its pid, and holds only its answers.
        owners = _owners(folder)
        for server, replica in zip(servers, REPLICAS, strict=True):
            for rid in acked[server.url]:
                name = SHARD.match(owners[rid].name)
                assert name and name["replica"] == replica and int(name["pid"]) == server.pid, owners[rid].name
        files = [*folder.glob("date=*/*.jsonl"), *folder.glob("date=*/*.table.parquet")]
        names = [SHARD.match(p.name) for p in files]
        assert all(n and n["replica"] in REPLICAS for n in names)
        assert len(list(folder.glob("date=*/*.table.parquet"))) == 2  # one table each

        hub_ids = _hub_ids(hub, tmp_path / "downloaded")
        assert set(hub_ids) == set(everything) and set(hub_ids.values()) == {1}
        hub_files = len(hub.files(REPO))
    record_figures(
        "two replicas, one log",
        acknowledged={r: len(acked[s.url]) for r, s in zip(REPLICAS, servers, strict=True)},
        shards=len(names),
        hub_files=hub_files,
        pushes_seen_during_load=pushes,
        lost=log["missing_from_log"],
        duplicated=log["logged_twice"],
    )
