"""filter_digits on a small generated text-only data dir: what is dropped, kept and printed."""

from pathlib import Path

import yaml

from lrspeech.bin import filter_digits

CONF = Path(__file__).resolve().parents[2] / "conf" / "lang"
SENTENCES = {
    "t01": "Tulifika saa 3 usiku.",
    "t02": "Mvua inanyesha leo.",
    "t03": "Kitabu 1 kati ya 10.",
    "t04": "Ninapenda chai.",
    "t05": "Watu 250 walikuja.",
}


def _dir(tmp_path: Path) -> Path:
    d = tmp_path / "unpaired_text"
    d.mkdir()
    (d / "text").write_text("".join(f"{u} {s}\n" for u, s in SENTENCES.items()), "utf-8")
    return d


def _lang(tmp_path: Path, normalizer: str) -> Path:
    data = yaml.safe_load((CONF / "TEMPLATE.yaml").read_text(encoding="utf-8"))
    data["number_normalizer"] = normalizer
    path = tmp_path / f"lang_{normalizer}.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _ids(d: Path) -> list:
    return [line.split()[0] for line in (d / "text").read_text(encoding="utf-8").splitlines()]


def test_drop_rewrites_the_dir_and_prints_the_count(tmp_path, capsys):
    d = _dir(tmp_path)
    argv = ["--data_dir", str(d), "--lang_config", str(_lang(tmp_path, "none"))]
    assert filter_digits.main(argv + ["--digits", "keep", "--out", str(tmp_path / "k")]) == 0
    assert "3 of 5 sentences have digits" in capsys.readouterr().out
    assert _ids(tmp_path / "k") == list(SENTENCES) and _ids(d) == list(SENTENCES)
    assert filter_digits.main(argv) == 0  # default: drop, in place
    out = capsys.readouterr().out
    assert out.startswith("unpaired_text: 3 of 5 sentences have digits that number_normalizer "
                          "none leaves unspoken, dropped (--digits drop), 2 kept; e.g. t01 ")
    assert _ids(d) == ["t02", "t04"]
    assert filter_digits.main(argv) == 0  # a rerun finds nothing more
    assert "none of 2 sentences has digits left unspoken" in capsys.readouterr().out


def test_a_normalizer_spells_them_and_nothing_is_dropped(tmp_path, capsys):
    d = _dir(tmp_path)
    assert filter_digits.main(["--data_dir", str(d), "--lang_config",
                               str(_lang(tmp_path, "sw"))]) == 0
    assert "none of 5 sentences has digits left unspoken (number_normalizer sw)" in \
        capsys.readouterr().out
    assert _ids(d) == list(SENTENCES)


def test_all_sentences_with_digits_is_an_error_naming_the_fix(tmp_path, capsys):
    d = tmp_path / "t"
    d.mkdir()
    (d / "text").write_text("a Saa 3.\nb Watu 4.\n", encoding="utf-8")
    rc = filter_digits.main(["--data_dir", str(d), "--lang_config",
                             str(_lang(tmp_path, "none"))])
    err = capsys.readouterr().err
    assert rc == 1 and "all 2 sentences have digits" in err and "--digits keep" in err
    assert _ids(d) == ["a", "b"]  # untouched
