"""Fixtures of the recipe tests: the micro recipe built once per test run (micro_recipe.py).

Usage: .venv/bin/python -m pytest tests/recipe
"""

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # micro_recipe, for the test files

from micro_recipe import build_once  # noqa: E402


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory, test_data: Path) -> Path:
    """The micro recipe after stages 1-9 (shared by the workers of a run; do not change it)."""
    return build_once(tmp_path_factory, test_data)
