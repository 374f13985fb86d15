"""Big batches through the model's trees compiled to C (treelite + tl2cgen, gcc), built off the request path.

`booster.predict` on 10,000 rows costs ~80 ms of wall time and twice that in CPU on 2 cores; the same
trees compiled to C give the same float64 numbers for about half the CPU (docs/optimization.md,
"Batch runtime"). Compiling takes ~10 s of gcc, so `BatchRuntime.start` does it in a niced background
thread after startup: until the library is built, loaded and checked against the Booster, and for
good if any of that fails, batches stay on the Booster. Single rows never come here (the C fast
path of scoring.runtimes is quicker for them).

The library is named after the model's own text and cached in a folder (MODEL_CACHE_DIR/compiled),
written to a temporary name and renamed, so two replicas or a crash never leave half a library and
the next start reuses it without a compiler.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from scoring.compiled_exact import exact_at_thresholds, split_thresholds, threshold_rows

log = logging.getLogger(__name__)

MODES: tuple[str, ...] = ("auto", "booster", "tl2cgen")
MIN_ROWS = 256  # below this a call stays on the Booster (and one row on its C single-row path)
TOLERANCE = 1e-9  # largest |difference| with booster.predict accepted on the check rows (float64 both)
COMPILER = "gcc"
# quantize: each threshold becomes its rank among the feature's thresholds, each input the rank it falls
# at, compared as integers: the same branches taken (the check rows hold it to 1e-9; measured 0.0),
# ~20 % less time per 10,000 rows (46 -> 37 ms, 2 threads). parallel_comp: 8 C files, compiled in parallel.
BUILD = {"parallel_comp": 8, "quantize": 1}

Predictor = Callable[[np.ndarray], np.ndarray]


def library_path(booster: Any, folder: str | Path) -> Path:
    """Where the compiled library of `booster` lives: named after its model text, so never another model's."""
    digest = hashlib.sha256((booster.model_to_string() + repr(sorted(BUILD.items()))).encode()).hexdigest()[:16]
    return Path(folder) / f"model-{digest}.so"  # the build options count: a new recipe is a new library


def missing_tools() -> str | None:
    """Why a library cannot be compiled here (tl2cgen/treelite not installed, no gcc on PATH), or None."""
    for package in ("tl2cgen", "treelite"):
        if importlib.util.find_spec(package) is None:
            return f"the {package} package is not installed"
    if shutil.which(COMPILER) is None:
        return f"no C compiler ({COMPILER}) on PATH"
    return None


def build_library(booster: Any, library: Path) -> Path:
    """Compile `booster` into `library`: into a temporary name in the same folder, then one atomic rename."""
    import tl2cgen
    import treelite

    library.parent.mkdir(parents=True, exist_ok=True)
    partial = library.with_name(f".{library.stem}.{os.getpid()}-{uuid.uuid4().hex[:8]}.so")
    try:
        model = treelite.frontend.from_lightgbm(booster)
        tl2cgen.export_lib(model, toolchain=COMPILER, libpath=str(partial), params=BUILD)
        os.replace(partial, library)
    finally:
        partial.unlink(missing_ok=True)
    return library


def _openmp_allowing(threads: int) -> contextlib.AbstractContextManager[object]:
    """OpenMP's thread limit raised to `threads` for the block (an OMP_NUM_THREADS=1 or a threadpoolctl
    limit set earlier in the process would make tl2cgen refuse `nthread`); the previous limits after it."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=threads, user_api="openmp")


def load_library(library: Path, *, threads: int) -> Predictor:
    """A probability function on the compiled `library`, with `threads` OpenMP threads per call.

    tl2cgen's `Predictor.predict` may be called by one thread at a time (its docstring says so): a
    lock serialises the calls, which are short (~40 ms CPU per 10,000 rows).
    """
    import tl2cgen

    with _openmp_allowing(threads):  # tl2cgen refuses more threads than its libgomp's current limit
        compiled = tl2cgen.Predictor(str(library), nthread=threads, verbose=False)
    lock = threading.Lock()

    def predict(features: np.ndarray) -> np.ndarray:
        matrix = tl2cgen.DMatrix(np.ascontiguousarray(features, dtype=np.float64), dtype="float64")
        with lock:
            return compiled.predict(matrix).reshape(-1)

    predict.runtime = "tl2cgen"  # type: ignore[attr-defined]
    return predict


def check_rows(
    feature_names: Sequence[str],
    *,
    ranges: Mapping[str, Sequence[float]],
    categories: Mapping[str, Sequence[str]],
    rows: int = 512,
    seed: int = 0,
) -> np.ndarray:
    """Rows that walk many branches of the trees: values across (and past) the training ranges, 30 %
    missing, category codes including unseen ones, a row of zeros and a row of NaN."""
    rng = np.random.default_rng(seed)
    matrix = np.empty((rows, len(feature_names)))
    for j, name in enumerate(feature_names):
        if name in categories:
            matrix[:, j] = rng.integers(0, len(categories[name]) + 3, rows)  # the last 3 codes are unseen
        elif name in ranges:
            low, high = (float(v) for v in ranges[name])
            margin = 0.1 * (high - low) + 1e-9
            matrix[:, j] = rng.uniform(low - margin, high + margin, rows)
        else:
            matrix[:, j] = rng.lognormal(0.0, 1.0, rows) * rng.choice([-1.0, 1.0], rows)
    matrix[rng.random(matrix.shape) < 0.3] = np.nan
    matrix[0], matrix[1] = 0.0, np.nan
    return matrix


def worst_difference(candidate: Predictor, booster: Any, rows: np.ndarray) -> float:
    """Largest |candidate - booster.predict| on `rows` (every row at once, then the first few one by one)."""
    rows = np.ascontiguousarray(rows, dtype=np.float64)
    want = booster.predict(rows, num_threads=1)
    got = candidate(rows)
    singles = np.concatenate([candidate(rows[i : i + 1]) for i in range(min(len(rows), 8))])
    return float(max(np.max(np.abs(got - want)), np.max(np.abs(singles - want[: len(singles)]))))


def _usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the OS has one), as OpenMP's default."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else os.cpu_count() or 1


def _zeros_and_nan(n_features: int) -> np.ndarray:
    return np.vstack([np.zeros(n_features), np.full(n_features, np.nan)])


class BatchRuntime:
    """What scores calls of MIN_ROWS rows or more: the Booster until the compiled library is ready.

    `mode` is BATCH_RUNTIME: "booster" (never compile), "auto" (compile when tl2cgen and gcc are
    here, or reuse a cached library; an info line otherwise) or "tl2cgen" (the same, but a warning
    when it cannot be had). The service never waits for it and never refuses to start because of it.
    """

    def __init__(
        self,
        booster: Any,
        *,
        mode: str,
        folder: str | Path,
        threads: int | None = None,
        check: np.ndarray | None = None,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown batch runtime {mode!r}; choose one of {', '.join(MODES)}")
        self.booster = booster
        self.mode = mode
        self.folder = Path(folder)
        self.threads = threads or _usable_cores()
        self.check = check
        self.predictor: Predictor | None = None  # set once, when the compiled library passed its check
        self.state = "off" if mode == "booster" else "pending"
        self.reason: str | None = None
        self.compiled_now = False  # True when this process ran gcc (False: a cached library was reused)
        self._thread: threading.Thread | None = None

    @property
    def in_use(self) -> str:
        """The runtime big batches use right now."""
        return "tl2cgen" if self.predictor is not None else "booster"

    def status(self) -> dict[str, Any]:
        """For /readyz and /api/v1/model: what is in use, what was asked, and why not the compiled one."""
        return {"in_use": self.in_use, "setting": self.mode, "state": self.state, "reason": self.reason}

    def start(self) -> threading.Thread | None:
        """Build in a daemon thread (none for mode "booster"); batches use the Booster meanwhile."""
        if self.mode == "booster" or self._thread is not None:
            return self._thread
        self.state = "building"
        self._thread = threading.Thread(target=self._build_niced, name="batch-runtime-build", daemon=True)
        self._thread.start()
        return self._thread

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the background build; True when the compiled runtime is in use."""
        if self._thread is not None:
            self._thread.join(timeout)
        return self.predictor is not None

    def _build_niced(self) -> None:
        # Linux nices threads one by one, and gcc's processes inherit it: the compile yields to serving.
        with contextlib.suppress(OSError, AttributeError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
        self.build()

    def build(self) -> bool:
        """Load (or compile, then load) and check the library; True when batches now use it."""
        if self.mode == "booster":
            return False
        started = time.perf_counter()
        try:
            library = library_path(self.booster, self.folder)
            if not library.is_file():
                missing = missing_tools()
                if missing:
                    return self._unavailable(missing)
                build_library(self.booster, library)
                self.compiled_now = True
            compiled = load_library(library, threads=self.threads)
            thresholds = split_thresholds(self.booster)
            candidate = exact_at_thresholds(compiled, self.booster, thresholds)
            rows = self.check if self.check is not None else _zeros_and_nan(self.booster.num_feature())
            rows = np.vstack([rows, threshold_rows(thresholds, np.nan_to_num(rows[:8]))])  # on every split too
            worst = worst_difference(candidate, self.booster, rows)
            if not worst <= TOLERANCE:
                return self._unavailable(f"the compiled library differs from booster.predict by {worst:.3g}")
        except Exception as exc:  # an optional speed-up must never stop the service
            return self._unavailable(f"{type(exc).__name__}: {exc}")
        self.predictor = candidate
        self.state = "ready"
        log.info(
            "batch runtime switched to tl2cgen",
            extra={
                "batch_runtime": "tl2cgen",
                "compiled": self.compiled_now,
                "threads": self.threads,
                "check_rows": len(rows),
                "max_abs_difference": worst,
                "seconds": round(time.perf_counter() - started, 3),
            },
        )
        return True

    def _unavailable(self, reason: str) -> bool:
        self.state, self.reason = "unavailable", reason
        level = logging.WARNING if self.mode == "tl2cgen" else logging.INFO
        log.log(level, "batch runtime stays on the booster", extra={"batch_runtime": "booster", "reason": reason})
        return False
