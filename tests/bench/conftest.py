"""bench/ scripts are not a package: tests load them as modules through `bench_module`."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Callable

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


def load_bench(name: str) -> ModuleType:
    """bench/<name>.py as a module named bench_<name>."""
    if str(BENCH) not in sys.path:
        sys.path.insert(0, str(BENCH))  # scripts import their siblings (ablation -> tts_align)
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def bench_module() -> Callable[[str], ModuleType]:
    return load_bench
