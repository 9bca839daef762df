"""bench/postfilter.py: the two copies of a stage's TTS, and the comparison of their figures."""

import json
from pathlib import Path

import numpy as np
import pytest
import yaml

from lrspeech.data.datadir import DataDir
from lrspeech.models.postfilter import GV_FILE, GvStats

FBANK = {"feats_extract": "fbank",
         "feats_extract_conf": {"n_fft": 1024, "hop_length": 256, "win_length": None,
                                "fs": 16000, "fmin": 80, "fmax": 7600, "n_mels": 80},
         "tts": "fastspeech2"}


@pytest.fixture(scope="module")
def pfb(bench_module):
    return bench_module("postfilter")


def fake_recipe(root: Path, test_data: Path, sw_rows) -> Path:
    """A recipe dir with exp/kd/{asr,tts/model} (a TTS config, meta, stray gv.npz) and the
    target speaker's paired recordings (real clips shipped with the tests)."""
    model = root / "recipe" / "exp" / "kd" / "tts" / "model"
    model.mkdir(parents=True)
    (model / "config.yaml").write_text(yaml.safe_dump(FBANK))
    (model / "meta.json").write_text(json.dumps({"task": "tts", "target_speaker": "sw_35d"}))
    (model / "model.pth").write_bytes(b"weights")
    (model / GV_FILE).write_bytes(b"from an earlier packing")
    (root / "recipe" / "exp" / "kd" / "asr").mkdir()
    rows = [r for r in sw_rows if r["split"] == "train"][:3]
    DataDir(wav_scp={r["id"]: r["audio"] for r in rows}, text={r["id"]: r["text"] for r in rows},
            utt2spk={r["id"]: r["speaker"] for r in rows}).save(root / "paired")
    return root / "recipe"


def test_the_none_copy_has_no_statistics_and_the_gv_copy_the_speakers(
        pfb, tmp_path, test_data, sw_rows):
    recipe = fake_recipe(tmp_path, test_data, sw_rows)
    none = pfb.variant_dir(tmp_path / "out", "kd", "none", recipe, tmp_path / "paired")
    gv = pfb.variant_dir(tmp_path / "out", "kd", "gv", recipe, tmp_path / "paired")
    assert not (none / "tts" / "model" / GV_FILE).exists()
    stats = GvStats.load(gv / "tts" / "model" / GV_FILE)
    assert stats.n_utts == 3 and stats.std.shape == (80,)
    assert (gv / "tts" / "model" / "model.pth").read_bytes() == b"weights"
    assert (gv / "asr").resolve() == (recipe / "exp" / "kd" / "asr").resolve()
    # a second call reuses the copies (the statistics are not measured again)
    before = (gv / "tts" / "model" / GV_FILE).stat().st_mtime_ns
    pfb.variant_dir(tmp_path / "out", "kd", "gv", recipe, tmp_path / "paired")
    assert (gv / "tts" / "model" / GV_FILE).stat().st_mtime_ns == before
    with pytest.raises(SystemExit, match=r"exp/dt/round2/tts/model: no packed TTS"):
        pfb.variant_dir(tmp_path / "out", "dt/round2", "gv", recipe, tmp_path / "paired")


def write_eval(ev: Path, char_errors, ovrl) -> None:
    (ev / "ir").mkdir(parents=True)
    (ev / "mos").mkdir(parents=True)
    lines = ["utt\tref\thyp\twords_correct\tref_words\tchar_errors\tref_chars"]
    lines += [f"u{i}\tr\th\t{5 - e // 4}\t5\t{e}\t20" for i, e in enumerate(char_errors)]
    (ev / "ir" / "ir_utts.tsv").write_text("\n".join(lines) + "\n")
    rows = ["utt\tdnsmos_sig\tdnsmos_bak\tdnsmos_ovrl\tmcd"]
    rows += [f"u{i}\t2.0\t2.0\t{o}\t3.0" for i, o in enumerate(ovrl)]
    (ev / "mos" / "mos_utts.tsv").write_text("\n".join(rows) + "\n")


def test_compare_gives_paired_differences(pfb, tmp_path):
    rng = np.random.default_rng(1)
    base = rng.integers(4, 12, 30)
    write_eval(tmp_path / "eval" / "a_none", base, [1.3] * 30)
    write_eval(tmp_path / "eval" / "a_gv", base - 2, [1.7] * 30)
    diff = pfb.compare(tmp_path, {"none": "a_none", "gv": "a_gv"})
    assert diff["judge_char"].startswith("-10.0 [-10.0, -10.0]")  # 2 of 20 chars fewer, each
    assert diff["dnsmos_ovrl"] == "+0.40 [+0.40, +0.40] (30 utts)"
    assert diff["mcd"] == "+0.00 [+0.00, +0.00] (30 utts)"
    # the mean over the shared utterances (z is left out), within its interval
    assert pfb.mean_difference({"x": 1.0, "y": 2.0}, {"x": 2.0, "y": 2.0, "z": 9.0}) == \
        "+0.50 [+0.00, +1.00] (2 utts)"


def test_markdown_lists_both_readings_and_the_differences(pfb):
    f = {"judge_cer": 0.278, "ir": 0.25, "dnsmos_ovrl": 1.37, "dnsmos_sig": 1.74,
         "dnsmos_bak": 1.61, "mcd": 2.83}
    row = {"stage": "kd", "none": f, "gv": {**f, "dnsmos_ovrl": 1.69},
           "difference": {"judge_char": "-1.1 [-1.8, -0.4]", "ir": "+1.6 [-0.2, +3.4]",
                          "dnsmos_ovrl": "+0.32 [+0.25, +0.39] (46 utts)"}}
    md = pfb.markdown([row])
    assert "| kd | none | 27.8 | 25.0 | 1.37 | 1.74 | 1.61 | 2.83 |" in md
    assert "| kd | gv | 27.8 | 25.0 | 1.69 |" in md
    assert "| kd | -1.1 [-1.8, -0.4] | +1.6 [-0.2, +3.4] | +0.32 [+0.25, +0.39] (46 utts) |" in md
