"""Shared fixtures: paths to the real speech shipped in tests/data, thread limits, test order.

Usage: .venv/bin/python -m pytest tests          # what `make test` runs (two workers)
"""

import csv
import os
from pathlib import Path
from typing import Dict, List

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

TESTS = Path(__file__).resolve().parent
TEST_DATA = TESTS / "data"
# The order of the test files, which `make test` hands out to its two pytest-xdist workers
# (`--dist loadfile`: a file's tests stay in one worker, with its module fixtures). The micro
# recipe's tests (tests/recipe/test_recipe_micro.py: stages 1-9 built once, most of the suite's
# time) go first, or the run would wait for them at the end; its tests that work on copies of
# that recipe go last, when the other worker has done the rest and the recipe is built.
FIRST = ("recipe/test_recipe_micro.py",)
LAST = ("recipe/test_recipe_micro_copies.py",)


def pytest_collection_modifyitems(items: List[pytest.Item]) -> None:
    """The files of FIRST first and those of LAST last; the rest in pytest's order."""
    def rank(item: pytest.Item) -> int:
        path = item.path.relative_to(TESTS).as_posix()
        return 0 if path in FIRST else 2 if path in LAST else 1

    items[:] = sorted(items, key=rank)  # stable: the order within a rank is kept


def read_metadata(folder: Path) -> List[Dict[str, str]]:
    """Rows of a shipped corpus folder's metadata.tsv, with `audio` made absolute."""
    with open(folder / "metadata.tsv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    for row in rows:
        row["audio"] = str(folder / row["audio"])
    return rows


@pytest.fixture(scope="session")
def test_data() -> Path:
    return TEST_DATA


@pytest.fixture(scope="session")
def sw_rows() -> List[Dict[str, str]]:
    """Real Swahili clips (one speaker, 16 kHz FLAC, 10 train + 2 val)."""
    return read_metadata(TEST_DATA / "sw")


@pytest.fixture(scope="session")
def an4_rows() -> List[Dict[str, str]]:
    """Real English AN4 clips (many speakers, 16 kHz FLAC, 8 train + 2 val)."""
    return read_metadata(TEST_DATA / "en" / "an4")


@pytest.fixture(scope="session")
def lj_rows() -> List[Dict[str, str]]:
    """Real English LJSpeech clips (one speaker, 22.05 kHz FLAC)."""
    return read_metadata(TEST_DATA / "en" / "ljspeech32")


@pytest.fixture(scope="session")
def micro_builders():
    """tests/models/conftest.py as a module: its micro-model builders (build_micro_asr, ...)
    for tests outside tests/models, where its fixtures are not visible."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "lrspeech_test_micro_builders", TEST_DATA.parent / "models" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def packed_micro_asr(tmp_path_factory, sw_rows, an4_rows, micro_builders) -> Path:
    """The micro ASR of the alignment tests (reused when already trained), packed: a real
    packed char CTC ASR for tests that decode, align or attach an LM (do not modify it)."""
    from lrspeech.models.packing import pack_model

    b = micro_builders
    rows = b.split_rows(sw_rows, an4_rows)
    micro = b.build_micro_asr(tmp_path_factory.getbasetemp() / "ctc_align_micro_asr",
                              rows["train"], rows["valid"])
    return pack_model(micro.exp_dir, micro.checkpoint,
                      tmp_path_factory.mktemp("packed_micro_asr") / "asr")
