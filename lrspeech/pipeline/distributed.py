"""Several processes running one training step: which one this is, and how the others wait.

Usage: python -c "from lrspeech.pipeline.distributed import launch_rank; \
print(launch_rank(['--dist_rank', '1', '--dist_world_size', '2']))"

Under a distributed launcher (torchrun, ESPnet's launcher over nodes, Slurm) every process runs
the same `train_model` command. Rank 0 prepares the data and statistics alone, then publishes
ESPnet's training command in `<step>/.prepared`; the other ranks wait for it and join the same
training (ESPnet's DDP); rank 0 packs the model. A failure of rank 0 is published too, so that
the others stop and name it instead of waiting.
"""

import json
import logging
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from lrspeech.data.atomic import atomic_write_text
from lrspeech.errors import InputError
from lrspeech.models.tasks import TrainingFailedError

logger = logging.getLogger(__name__)

PREPARED = ".prepared"
# Environment variables that make ESPnet join a distributed group (torchrun, ESPnet's launcher).
DIST_ENV = ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "GROUP_RANK")


def _option(args: Sequence[str], name: str) -> Optional[str]:
    """The value of `--name V` or `--name=V` in ESPnet arguments (the last one wins)."""
    value = None
    for i, a in enumerate(args):
        if a == f"--{name}" and i + 1 < len(args):
            value = args[i + 1]
        elif a.startswith(f"--{name}="):
            value = a.split("=", 1)[1]
    return value


def launch_rank(espnet_args: Sequence[str]) -> Tuple[int, int]:
    """(rank, world size) of this process among the processes that run one training step.

    From ESPnet's own `--dist_rank/--dist_world_size`, else the RANK/WORLD_SIZE a launcher such
    as torchrun sets, else Slurm's task id and count with `--dist_launcher slurm`; (0, 1) for
    an ordinary single-process run.
    """
    rank, world = _option(espnet_args, "dist_rank"), _option(espnet_args, "dist_world_size")
    if world is None and "WORLD_SIZE" in os.environ:
        rank, world = os.environ.get("RANK", "0"), os.environ["WORLD_SIZE"]
    if world is None and _option(espnet_args, "dist_launcher") == "slurm":
        rank, world = os.environ.get("SLURM_PROCID", "0"), os.environ.get("SLURM_NTASKS", "1")
    if world is None:
        return 0, 1
    try:
        r, w = int(rank or 0), int(world)
    except ValueError as err:
        raise InputError(f"distributed rank {rank!r} / world size {world!r} are not integers; "
                         "check the launcher's RANK and WORLD_SIZE") from err
    if not 0 <= r < max(w, 1):
        raise InputError(f"distributed rank {r} is outside world size {w}; fix the launcher")
    return r, w


@contextmanager
def single_process_env() -> Iterator[None]:
    """Hide the launcher's rank variables, so that ESPnet runs this part on its own."""
    saved = {k: os.environ.pop(k) for k in DIST_ENV if k in os.environ}
    try:
        yield
    finally:
        os.environ.update(saved)


def publish(path: Path, content: Dict[str, Any]) -> None:
    """Write rank 0's plan (or failure) for the other ranks, atomically."""
    atomic_write_text(path, json.dumps(content) + "\n")


def wait_for_rank0(step_dir: Path, rank: int) -> Dict[str, Any]:
    """Ranks > 0: rank 0's plan for `step_dir` (`argv` without rank 0's own options, `train`:
    whether to train), once published; a failure of rank 0 raises, naming it."""
    ready = Path(step_dir) / PREPARED
    timeout = float(os.environ.get("LRSPEECH_DIST_WAIT", "7200"))
    t0 = time.monotonic()
    logger.info("rank %d: waiting for rank 0 to prepare %s", rank, step_dir)
    while not ready.is_file():
        if time.monotonic() - t0 > timeout:
            raise TimeoutError(
                f"rank {rank}: rank 0 did not prepare {step_dir} within {timeout:.0f} s "
                f"(no {ready}); see rank 0's log, or raise LRSPEECH_DIST_WAIT"
            )
        time.sleep(0.5)
    plan = json.loads(ready.read_text(encoding="utf-8"))
    if "error" in plan:
        raise TrainingFailedError(f"rank {rank}: rank 0 failed to prepare {step_dir}: "
                                  f"{plan['error']}; see rank 0's log")
    return plan


def common_argv(argv: List[str], own_args: Sequence[str]) -> List[str]:
    """ESPnet's command without this rank's own trailing options (e.g. --dist_rank): each
    rank adds its own."""
    return argv[: len(argv) - len(own_args)]
