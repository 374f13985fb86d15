"""The analysis off the scoring path: a spawned, niced worker process (or a thread) that keeps the latest result.

`AnalysisRunner` submits `run_job` (read the log window, calculate with the process' fitted monitor)
and, through `submit`, the alert evaluation, so both share one worker and one read cache.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import multiprocessing
import os
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from monitoring.alerts.outcomes import OutcomeRules
from monitoring.alerts.pair import AGREEMENT_FLOOR
from monitoring.drift.chunking import Chunking, window_bounds
from monitoring.drift.monitor import TOP_FEATURES, fitted_monitor
from monitoring.drift.pair import CHALLENGER_COLUMNS
from monitoring.drift.pair_reference import pair_analysis, with_pair_alerts
from monitoring.drift.realized import calculate_with_outcomes
from monitoring.drift.result import MonitoringResult
from monitoring.drift.sampling import DEFAULT_SAMPLE_ROWS, analysis_columns
from monitoring.log.reader import SHARED_CACHE, ReadCache, read_log, read_outcomes

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AnalysisJob:
    """What to analyse, picklable so a worker process can run it."""

    log_dirs: tuple[str, ...]
    model_dir: str
    top: int = TOP_FEATURES
    outcome_rules: OutcomeRules = field(default_factory=OutcomeRules)
    # the challenger's local model folder (resolved from CHALLENGER_URI): CBPE of the challenger scores the
    # reference with it (monitoring.drift.pair_reference); None: the pair gets no challenger CBPE
    challenger_dir: str | None = None
    agreement_floor: float = AGREEMENT_FLOOR  # PAIR_AGREEMENT_FLOOR: the pair alert
    sample_rows: int | None = DEFAULT_SAMPLE_ROWS  # per chunk, for the drift statistics (None: every row)


OUTCOME_CACHE = ReadCache()  # outcome shards parse with their own schema, so their own cache


def run_job(job: AnalysisJob, window: str = "all", chunking: Chunking | None = None) -> MonitoringResult:
    """Read the log for `window` (and every outcome) and analyse it (what the runner's worker executes).

    Only the columns the analysis uses are read (`_columns`): a compacted day is then
    scanned for about 40 of its 130 columns.
    """
    start, end = window_bounds(window)
    monitor = fitted_monitor(job.model_dir, job.top)
    data = read_log(list(job.log_dirs), start=start, end=end, cache=SHARED_CACHE, columns=_columns(monitor))
    outcomes = read_outcomes(list(job.log_dirs), cache=OUTCOME_CACHE)
    bounds = {"name": window, "start": start.isoformat() if start else None, "end": end.isoformat() if end else None}
    result = calculate_with_outcomes(
        monitor,
        data.predictions,
        outcomes=outcomes,
        rules=job.outcome_rules,
        chunking=chunking,
        rejections=data.rejections,
        window=bounds,
        sample_rows=job.sample_rows,
    )
    result.pair = pair_analysis(
        data.predictions,
        chunking=result.chunking,
        outcomes=outcomes,
        model_dir=job.model_dir,
        challenger_dir=job.challenger_dir,
        min_labels=job.outcome_rules.min_labels,
        floor=job.agreement_floor,
    )
    result.alerts = with_pair_alerts(result)
    return result


def _columns(monitor: Any) -> list[str]:
    """What the drift, outcome and pair analyses read (the challenger's columns come from the shadow rows)."""
    return [*analysis_columns(monitor), *CHALLENGER_COLUMNS]


def _quiet_worker() -> None:
    """Initialiser of the analysis worker process: one BLAS/OpenMP/numba thread, lowest priority.

    Only inside the dedicated process: in a thread of the service (isolation="thread") the same limits
    would be the whole process's, and its batches' OpenMP threads would drop to one.
    """
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        os.environ.setdefault(name, "1")
    try:
        from threadpoolctl import threadpool_limits

        # BLAS and OpenMP (LightGBM's libgomp reads OMP_NUM_THREADS when loaded, maybe before this runs)
        threadpool_limits(1)
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        pass
    _lower_priority(os.getpid())
    _die_with(parent.pid)


WORKER_NICE = 10


def _lower_priority(pid: int) -> None:
    """Every thread of process `pid` to at least `WORKER_NICE`, and so every thread they start later.

    Linux keeps a nice value per thread (`os.nice` changes the caller's only), and a spawned worker
    starts threads while importing (pyarrow, OpenMP pools) before its initialiser runs: each is reniced.
    """
    tasks = Path(f"/proc/{pid}/task")
    for tid in [int(t.name) for t in tasks.iterdir()] if tasks.is_dir() else [pid]:
        with contextlib.suppress(OSError):  # a thread that just ended, or no /proc
            if os.getpriority(os.PRIO_PROCESS, tid) < WORKER_NICE:
                os.setpriority(os.PRIO_PROCESS, tid, WORKER_NICE)


def _die_with(parent_pid: int | None, *, every_s: float = 1.0) -> None:
    """Exit this worker as soon as its parent is gone (SIGKILL, crash): never an orphan holding memory.

    Linux's PR_SET_PDEATHSIG would fire when the *thread* that spawned us ends, which in a web server is
    any worker thread, so a daemon thread polls the parent pid instead (re-parenting changes getppid()).
    """
    if parent_pid is None:
        return

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(every_s)
        os._exit(0)  # no cleanup to run: the worker holds no file the parent relies on

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


@dataclass(slots=True)
class RunnerState:
    result: MonitoringResult | None = None
    running: bool = False
    error: str | None = None
    requested: tuple[str, str] | None = None  # (window, chunking label) of the run in progress or last started
    finished_at: str | None = None
    queued: tuple[str, str] | None = None  # a refresh asked for while running: it starts when the run ends


class AnalysisRunner:
    """Runs the analysis in the background and keeps the latest result; never blocks the caller.

    `isolation="process"` (the service default) runs NannyML in one spawned, niced worker process: no
    GIL or CPU-priority contention with the scoring path; the fit happens once in that process.
    `"thread"` runs it in one worker thread of this process (tests, notebooks).
    """

    def __init__(self, job: AnalysisJob, *, isolation: str = "process") -> None:
        if isolation not in {"process", "thread"}:
            raise ValueError("isolation is 'process' or 'thread'")
        self.job, self.isolation = job, isolation
        self._state = RunnerState()
        self._lock = threading.RLock()  # a done-callback may run at once, in the thread that holds it
        self._executor: cf.Executor | None = None
        self._future: cf.Future | None = None
        self._pending: tuple[str, Chunking | None] | None = None
        self._closed = False

    def _pool(self) -> cf.Executor:
        if self._executor is None:
            if self.isolation == "process":
                self._executor = cf.ProcessPoolExecutor(
                    1, mp_context=multiprocessing.get_context("spawn"), initializer=_quiet_worker
                )
            else:
                self._executor = cf.ThreadPoolExecutor(1, thread_name_prefix="monitoring", initializer=_quiet_worker)
        return self._executor

    def refresh(self, window: str = "last 24 h", chunking: Chunking | None = None) -> bool:
        """Start an analysis, or queue it if one is running (the latest request wins); True if started now.

        A refresh is never dropped: the queued one runs as soon as the current run ends.
        """
        window_bounds(window)  # validates the name now, in the caller
        with self._lock:
            if self._state.running:
                self._pending = (window, chunking)
                self._state.queued = (window, (chunking or Chunking()).label())
                return False
            self._start(window, chunking)
        return True

    def _start(self, window: str, chunking: Chunking | None) -> None:
        """Submit one run; the caller holds the lock."""
        self._state.running, self._state.requested = True, (window, (chunking or Chunking()).label())
        self._future = self._pool().submit(run_job, self.job, window, chunking)
        self._renice_workers()
        self._future.add_done_callback(self._done)

    def _renice_workers(self) -> None:
        """Lower a just-spawned worker's priority from here: its imports run before its initialiser can."""
        for process in list(getattr(self._executor, "_processes", {}).values()):
            if process.pid is not None:
                _lower_priority(process.pid)

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> cf.Future:
        """Run another background job (e.g. the alert evaluation) in the same quiet worker."""
        future = self._pool().submit(fn, *args, **kwargs)
        self._renice_workers()
        return future

    def _done(self, future: cf.Future) -> None:
        with self._lock:
            self._state.running = False
            self._state.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
            try:
                self._state.result, self._state.error = future.result(), None
            except Exception as exc:  # keep the last good result and say why this run failed
                log.exception("monitoring analysis failed")
                self._state.error = f"{type(exc).__name__}: {exc}"
                if isinstance(exc, cf.process.BrokenProcessPool):
                    self._executor = None
            pending, self._pending, self._state.queued = self._pending, None, None
            if pending is not None and not self._closed:
                try:
                    self._start(*pending)
                except RuntimeError:  # the pool is shutting down with the app: nothing more to run
                    self._state.running = False

    def latest(self) -> RunnerState:
        """A snapshot: the last result (maybe None), whether a run is in progress, the last error."""
        with self._lock:
            return RunnerState(
                self._state.result,
                self._state.running,
                self._state.error,
                self._state.requested,
                self._state.finished_at,
                self._state.queued,
            )

    def wait(self, timeout: float | None = None) -> RunnerState:
        """Block until the current run ends (tests, CLIs); the UI never calls this."""
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        while True:  # a queued refresh starts from the done-callback: wait for it too
            future = self._future
            if future is not None:
                cf.wait([future], timeout=max(deadline - time.monotonic(), 0))
            settle = time.monotonic() + 5
            while self.latest().running and self._future is future and time.monotonic() < settle:
                time.sleep(0.01)  # the done-callback runs just after the future completes
            state = self.latest()
            if not state.running or time.monotonic() >= deadline:
                return state

    def close(self, timeout: float = 1.5) -> None:
        """Stop the worker: queued jobs cancelled, a running one given `timeout` s, then the process ended."""
        self._closed = True  # a queued refresh must not start a new worker now
        executor, self._executor = self._executor, None
        if executor is None:
            return
        processes = list(getattr(executor, "_processes", {}).values())  # a ProcessPoolExecutor's workers
        executor.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + timeout
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.terminate()  # an analysis in flight is only a cache of the log: nothing is lost
                process.join(2)
        executor.shutdown(wait=True)
