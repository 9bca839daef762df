"""micro_recipe.build_once: one build per test run, shared by the workers, a failure kept.

Usage: .venv/bin/python -m pytest tests/recipe/test_micro_build.py
"""

import subprocess
from pathlib import Path
from typing import List

import micro_recipe
import pytest


@pytest.fixture
def fake_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> List[str]:
    """build_once in tmp_path with a stand-in recipe run (no stage runs); the calls it made."""
    calls: List[str] = []

    def make_recipe(root: Path, test_data: Path) -> Path:
        recipe = root / "egs" / "swahili" / "lr1"
        recipe.mkdir(parents=True)
        return recipe

    def run(recipe: Path, *opts: str) -> subprocess.CompletedProcess:
        calls.append(str(recipe))
        rc = 1 if (tmp_path / "fail").exists() else 0
        return subprocess.CompletedProcess(["run.sh"], rc, "", "stage 5 failed: see its log")

    monkeypatch.setattr(micro_recipe, "shared_tmp", lambda factory: tmp_path)
    monkeypatch.setattr(micro_recipe, "make_recipe", make_recipe)
    monkeypatch.setattr(micro_recipe, "run", run)
    return calls


def test_the_recipe_is_built_once_and_then_reused(fake_build: List[str], tmp_path: Path,
                                                  tmp_path_factory) -> None:
    first = micro_recipe.build_once(tmp_path_factory, tmp_path)
    again = micro_recipe.build_once(tmp_path_factory, tmp_path)  # a second worker, say
    assert first == again == tmp_path / "micro_recipe" / "egs" / "swahili" / "lr1"
    assert fake_build == [str(first)]


def test_a_failed_build_fails_every_worker_with_its_log(fake_build: List[str], tmp_path: Path,
                                                        tmp_path_factory) -> None:
    (tmp_path / "fail").touch()
    with pytest.raises(pytest.fail.Exception, match="micro recipe failed:\nstage 5 failed"):
        micro_recipe.build_once(tmp_path_factory, tmp_path)
    with pytest.raises(pytest.fail.Exception,
                       match=r"failed \(in another worker\):\nstage 5 failed"):
        micro_recipe.build_once(tmp_path_factory, tmp_path)
    assert len(fake_build) == 1  # not built a second time
