"""The micro LRSpeech recipe of tests/recipe/test_recipe_micro*.py: its options, how to build
it once per test run, and copies of it.

Usage (in a test): from micro_recipe import MICRO, copy_of, lines, run   # tests/recipe/conftest.py
                   puts this folder on sys.path and builds it (fixture `built`)

Real Swahili clips from tests/data (5 paired, 5 unpaired, 2 dev), a 40-sentence espeak-ng
English rich-resource corpus, tiny models, one epoch per training. The recipe is a copy of
egs/swahili/lr1 in a temporary folder, so nothing is written into the repo. It is built once
per test run, by whichever pytest-xdist worker needs it first, and never changed after: every
test works on a copy.
"""

import os
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Optional

import pytest

from lrspeech.data.atomic import exclusive_lock

REPO = Path(__file__).resolve().parents[2]
FAULT_TTS = Path(__file__).resolve().parent / "fault_tts"  # sitecustomize: TTS cut short
# Stages 1-9 take ~8 min on 2 cores (most of it ESPnet start-up in ~40 processes).
MICRO = [
    "--nj", "1", "--rich_num_utts", "40", "--rich_num_speakers", "2",
    "--local_data_opts", "--n_paired 5 --max_text 200",
    "--pretrain_epochs", "1", "--finetune_epochs", "1", "--dt_rounds", "1",
    # the TTS pretrains and fine-tunes as long as the ASR (the demo's budget: longer)
    "--pretrain_tts_epochs", "", "--finetune_tts_epochs", "",
    "--dt_text_per_round", "6", "--dt_epochs", "1", "--kd_tts_sentences", "6", "--kd_epochs", "1",
    "--dt_eval", "true",  # the per-round evaluation, which the demo's budget turns off
    "--train_args", "--num_iters_per_epoch 3",
    "--lm_epochs", "1", "--lm_weights", "0.5", "--lm_bonuses", "0 1",
    # A TTS of 3 steps may speak a dev sentence in a few frames: keep such clips (the refusal
    # of near-empty synthesis is tested in tests/models and test_user_clis_speak_and_transcribe).
    "--synth_min_dur", "0",
    # Griffin-Lim (lr.sh's default, world_gl, adds the WORLD step: test_recipe_micro.py's dry
    # runs switch to it)
    "--tts_vocoder", "griffin_lim",
]


def make_recipe(root: Path, test_data: Path) -> Path:
    """A copy of egs/swahili/lr1 whose path.sh points at this repo and db at tests/data/sw."""
    recipe = root / "egs" / "swahili" / "lr1"
    src = REPO / "egs" / "swahili" / "lr1"
    recipe.mkdir(parents=True)
    for name in ("run.sh", "cmd.sh", "conf", "local"):
        (shutil.copytree if (src / name).is_dir() else shutil.copy)(src / name, recipe / name)
    path_sh = (REPO / "egs" / "TEMPLATE" / "lr1" / "path.sh").read_text()
    lines = [f"lr_root={REPO}" if ln.startswith("lr_root=") else ln for ln in path_sh.splitlines()]
    (recipe / "path.sh").write_text("\n".join(lines) + "\n")
    (recipe / "db").mkdir()
    os.symlink(test_data / "sw", recipe / "db" / "sw_mini")
    shutil.copytree(src / "db" / "text", recipe / "db" / "text")
    return recipe


def run(recipe: Path, *opts: str, env: Optional[Dict[str, str]] = None
        ) -> subprocess.CompletedProcess:
    cmd = [str(recipe / "run.sh"), *MICRO, *opts]
    return subprocess.run(cmd, cwd=recipe, capture_output=True, text=True, env=env)


def lines(path: Path) -> List[str]:
    return path.read_text(encoding="utf-8").splitlines()


def shared_tmp(factory: pytest.TempPathFactory) -> Path:
    """The temporary folder every pytest-xdist worker of this run shares (the run's own)."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def build_once(factory: pytest.TempPathFactory, test_data: Path) -> Path:
    """The recipe after stages 1-9, built by the first worker that needs it (the other waits on
    the lock, then reuses it; a failed build fails both with its log) and never changed after."""
    root = shared_tmp(factory)
    done, failed = root / "micro_recipe.done", root / "micro_recipe.failed"
    with exclusive_lock(root / "micro_recipe.lock"):
        if failed.exists():
            pytest.fail(f"the micro recipe failed (in another worker):\n{failed.read_text()}")
        if not done.exists():
            recipe = make_recipe(root / "micro_recipe", test_data)
            res = run(recipe)
            if res.returncode != 0:
                failed.write_text(res.stderr[-4000:])
                pytest.fail(f"the micro recipe failed:\n{res.stderr[-4000:]}")
            done.write_text(str(recipe))
    return Path(done.read_text())


def copy_of(built: Path, factory: pytest.TempPathFactory, name: str) -> Path:
    """A copy of the built recipe for one test or module (its step markers hold relative
    paths, so the copy's steps are complete as they were)."""
    copy = factory.mktemp(name) / "lr1"
    shutil.copytree(built, copy, symlinks=True)
    return copy
