"""bench/startup.py: the three start-up variants really differ in what they load."""

import json

import pytest


@pytest.fixture(scope="module")
def startup(bench_module):
    return bench_module("startup")


def test_table_formats_ratios(startup):
    result = {v: {"median_s": s, "ratio_to_source": s / 20.0, "loaded": loaded}
              for v, s, loaded in (("source", 20.0, ["inflect", "nltk"]),
                                   ("bytecode", 10.0, ["inflect"]), ("lrspeech", 8.0, []))}
    lines = startup.table(result).splitlines()
    assert lines[2] == "| source | 20.0 | 1.00 | inflect, nltk |"
    assert lines[4] == "| lrspeech | 8.0 | 0.40 | none |"


@pytest.mark.slow
def test_one_repeat_of_each_variant(startup, tmp_path, capsys):
    assert startup.main(["--repeats", "1", "--out", str(tmp_path / "s.json")]) == 0
    result = json.loads((tmp_path / "s.json").read_text())
    assert set(result) == {"source", "bytecode", "lrspeech"}
    assert all(r["median_s"] > 0 for r in result.values())
    assert "inflect" in result["bytecode"]["loaded"]  # ESPnet alone imports the English tools
    assert result["lrspeech"]["loaded"] == []  # import lrspeech defers them
    assert "| lrspeech |" in capsys.readouterr().out
