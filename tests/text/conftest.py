"""Fixtures for the text frontend tests: the shipped language configs and a yaml writer."""

from pathlib import Path
from typing import Callable

import pytest
import yaml

from lrspeech.text.lang import LangConfig

CONF = Path(__file__).resolve().parents[2] / "conf" / "lang"


@pytest.fixture(scope="session")
def sw_cfg() -> LangConfig:
    return LangConfig.load(CONF / "sw.yaml")


@pytest.fixture(scope="session")
def en_cfg() -> LangConfig:
    return LangConfig.load(CONF / "en.yaml")


@pytest.fixture
def write_lang(tmp_path: Path) -> Callable[..., Path]:
    """Write a language yaml (Swahili defaults overridden by keyword) and return its path."""

    def write(name: str = "lang.yaml", drop: tuple = (), **values: object) -> Path:
        data = yaml.safe_load((CONF / "sw.yaml").read_text(encoding="utf-8"))
        data.update(values)
        for key in drop:
            data.pop(key)
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
        return path

    return write
