"""Kaldi-style jobs for batch inference: split the utterances, run the parts, time the run.

Usage: python -c "from lrspeech.models.jobs import job_share; \
print(job_share(['u3', 'u1', 'u2'], 2, 2))"

Work is split like Kaldi jobs: `job_index`/`num_jobs` pick a contiguous share of the
utterances in id order (the recipe's run.pl runs one process per job), and `nj` splits that
share again over worker processes of one thread each (torch is 3-13x slower on small VMs
otherwise). Each utterance is processed alone (batch of 1) with a fixed seed, so results do
not depend on the split; results are merged in id order. Used by lrspeech.models.asr_decode
and lrspeech.models.synthesis.
"""

import collections
import logging
import multiprocessing as mp
import queue
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, Callable, List, Mapping, Optional, Sequence

from lrspeech.errors import LrspeechError
from lrspeech.progress import progress as progress_bar
from lrspeech.runtime import limit_threads

logger = logging.getLogger(__name__)


class InferenceError(LrspeechError, ValueError):
    """Inputs that cannot be decoded/synthesized; the message names the file and the fix."""


def contiguous_part(items: Sequence[Any], k: int, n: int) -> List[Any]:
    """Part `k` (1-based) of `n` contiguous parts, sizes within one (larger parts first)."""
    if n < 1 or not 1 <= k <= n:
        raise InferenceError(f"job {k} of {n}: need 1 <= job_index <= num_jobs")
    sizes = [len(items) // n + (i < len(items) % n) for i in range(n)]
    start = sum(sizes[:k - 1])
    return list(items[start:start + sizes[k - 1]])


def job_share(ids: Sequence[str], job_index: int, num_jobs: int) -> List[str]:
    """Job `job_index` (1-based) of `num_jobs`: contiguous in id order, sizes within one.

    More jobs than utterances leaves the last jobs empty (they write empty outputs).
    """
    return contiguous_part(sorted(ids), job_index, num_jobs)


def split_parts(items: Sequence[Any], nj: int) -> List[List[Any]]:
    """Non-empty contiguous parts for `nj` workers (fewer when there are few items)."""
    n = max(1, min(nj, len(items)))
    return [p for p in (contiguous_part(items, k, n) for k in range(1, n + 1)) if p]


_PROGRESS: Optional[Any] = None


def _init_worker(progress: Any) -> None:
    """Worker set-up: one thread, the progress queue."""
    import torch

    global _PROGRESS
    limit_threads(1)
    torch.set_num_threads(1)
    _PROGRESS = progress


def worker_tick() -> None:
    """One utterance done, told to the parent's progress bar (in a worker process)."""
    if _PROGRESS is not None:
        _PROGRESS.put(1)


def worker_context() -> Any:
    """`fork` where the OS has it: workers inherit the imported ESPnet (re-importing it in
    each spawned worker costs 5-90 s on a loaded 2-core VM). The parent has run no torch
    op and started no thread when it forks, which is what makes forking safe here."""
    methods = mp.get_all_start_methods()
    return mp.get_context("fork" if "fork" in methods else "spawn")


def run_parts(work: Callable[..., List[Any]], parts: List[Any], nj: int, desc: str,
              total: int, local: Callable[[Callable[[], None]], Callable[[Any], List[Any]]],
              preload: Callable[[], None] = lambda: None) -> List[Any]:
    """Run `work(part)` for each part: in this process (nj 1) or in `nj` worker processes.

    `local(tick)` returns the in-process worker (so a model is loaded once); the worker
    processes call the module-level `work`, which loads its own copy. `preload` imports
    what workers share before they start. Results are concatenated in part order.
    """
    if nj <= 1 or len(parts) <= 1:
        with progress_bar(total=total, desc=desc, unit="utt") as bar:
            run = local(lambda: bar.update(1))
            return [r for part in parts for r in run(part)]
    preload()
    ctx = worker_context()
    progress = ctx.Queue()
    with ProcessPoolExecutor(len(parts), mp_context=ctx, initializer=_init_worker,
                             initargs=(progress,)) as pool:
        futures = [pool.submit(work, part) for part in parts]  # starts all workers first
        with progress_bar(total=total, desc=desc, unit="utt") as bar:
            _follow(futures, progress, bar)
        return [r for f in futures for r in f.result()]


def _follow(futures: List[Future], progress: Any, bar: Any) -> None:
    while not all(f.done() for f in futures):
        try:
            progress.get(timeout=0.2)
            bar.update(1)
        except queue.Empty:
            continue
    while True:
        try:
            progress.get_nowait()
            bar.update(1)
        except queue.Empty:
            break


@dataclass(frozen=True)
class Throughput:
    """Speed of a run: utterances per wall-clock second, and the real-time factor.

    `seconds` is the wall time of the whole run (model loading and worker start included);
    `compute_seconds` sums the time spent on each utterance, so RTF = compute / audio time
    measures the model itself (below 1: faster than real time).
    """

    utterances: int
    seconds: float
    compute_seconds: float
    audio_seconds: float

    @property
    def utts_per_second(self) -> float:
        return self.utterances / self.seconds if self.seconds > 0 else 0.0

    @property
    def rtf(self) -> float:
        if self.audio_seconds <= 0:
            return float("inf")
        return self.compute_seconds / self.audio_seconds

    def summary(self) -> str:
        return (f"{self.utterances} utterances in {self.seconds:.1f} s (loading included): "
                f"{self.utts_per_second:.2f} utt/s; RTF {self.rtf:.3f} "
                f"({self.compute_seconds:.1f} s of compute for "
                f"{self.audio_seconds:.1f} s of audio)")


def note_resampled(rates: Mapping[str, int], target: int, what: str) -> None:
    """One note for all utterances read at another rate than the model's."""
    other = {u: r for u, r in rates.items() if r != target}
    if other:
        counts = collections.Counter(other.values())
        shown = ", ".join(f"{n} at {r} Hz" for r, n in sorted(counts.items()))
        logger.warning("%s: %d utterances resampled to the model's %d Hz (%s; first: %s)",
                       what, len(other), target, shown, sorted(other)[0])


def preload_espnet(task: str) -> None:
    """Import ESPnet's inference module (and register lrspeech's models) before forking."""
    import importlib

    from lrspeech.models.tasks import register_models

    importlib.import_module(f"espnet2.bin.{task}_inference")
    register_models()
