"""Tests for the pack_model, asr_inference and tts_inference CLIs on micro models and real audio."""

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from lrspeech.bin import asr_inference, pack_model, tts_inference
from lrspeech.data.datadir import DataDir

TESTS = Path(__file__).resolve().parents[1]
LANG_YAML = ("language: test\niso: sw\nespeak_voice: none\ntoken_type: char\n"
             "punctuation: strip\nnumber_normalizer: none\n")
TARGET = "sw_35d"
FAST = ["--minlenratio", "1.0", "--maxlenratio", "1.5"]


def builders():
    """The micro-model builders of tests/models/conftest.py (not visible as fixtures here)."""
    spec = importlib.util.spec_from_file_location("models_conftest_builders",
                                                  TESTS / "models" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def micro(tmp_path_factory, sw_rows, an4_rows):
    b = builders()
    rows = b.split_rows(sw_rows, an4_rows)
    base = tmp_path_factory.getbasetemp()
    # The same root as tests/pipeline/test_align.py: one micro ASR per session, not two.
    asr = b.build_micro_asr(base / "ctc_align_micro_asr", rows["train"], rows["valid"])
    tts = b.build_micro_tts(base / "inference_cli_micro_tts", rows["train"], rows["valid"])
    return asr, tts


@pytest.fixture(scope="module")
def packed(micro, tmp_path_factory):
    asr, tts = micro
    root = tmp_path_factory.mktemp("cli_packed")
    (root / "lang.yaml").write_text(LANG_YAML)
    assert pack_model.main(["--exp_dir", str(asr.exp_dir), "--out_dir", str(root / "asr")]) == 0
    assert pack_model.main(["--exp_dir", str(tts.exp_dir), "--out_dir", str(root / "tts"),
                            "--lang_config", str(root / "lang.yaml"), "--token_type", "char",
                            "--spk2sid", str(tts.spk2sid), "--target_speaker", TARGET]) == 0
    return root / "asr", root / "tts"


def text_dir(path: Path, lines: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "text").write_text(lines, encoding="utf-8")
    return path


def test_pack_model_cli_writes_meta(packed, micro, capsys):
    meta = json.loads((packed[1] / "meta.json").read_text())
    assert meta["task"] == "tts" and meta["target_speaker"] == TARGET
    assert meta["token_type"] == "char" and meta["has_lang_config"] is True
    spk2sid = dict(line.split() for line in micro[1].spk2sid.read_text().splitlines())
    assert meta["speakers"] == {s: int(i) for s, i in spk2sid.items()}
    assert json.loads((packed[0] / "meta.json").read_text())["task"] == "asr"


def test_pack_model_cli_unknown_target(micro, tmp_path, capsys):
    tts = micro[1]
    rc = pack_model.main(["--exp_dir", str(tts.exp_dir), "--out_dir", str(tmp_path / "x"),
                          "--spk2sid", str(tts.spk2sid), "--target_speaker", "nobody"])
    assert rc == 1
    assert "target speaker 'nobody' is not a known speaker" in capsys.readouterr().err


def test_asr_inference_cli_job_share(packed, micro, tmp_path, capsys):
    data = micro[0].data_dir
    rc = asr_inference.main(["--model_dir", str(packed[0]), "--data_dir", str(data),
                             "--out_dir", str(tmp_path / "j1"), "--job_index", "1",
                             "--num_jobs", "2", "--beam_size", "2"])
    assert rc == 0
    out = capsys.readouterr().out
    assert "utt/s; RTF" in out and "-> " in out
    ids = sorted(DataDir.load(data).wav_scp)
    hyp = (tmp_path / "j1" / "text").read_text().splitlines()
    score = (tmp_path / "j1" / "score").read_text().splitlines()
    assert [line.split()[0] for line in hyp] == ids[:(len(ids) + 1) // 2]
    assert [line.split()[0] for line in score] == ids[:(len(ids) + 1) // 2]
    assert all(float(line.split()[1]) <= 0 for line in score)


def test_asr_inference_cli_refuses_a_tts_model(packed, micro, tmp_path, capsys):
    rc = asr_inference.main(["--model_dir", str(packed[1]), "--data_dir",
                             str(micro[0].data_dir), "--out_dir", str(tmp_path / "o")])
    assert rc == 1
    assert "this is a tts model; a asr model is needed here" in capsys.readouterr().err


def test_tts_inference_cli_distillation_outputs(packed, tmp_path, capsys):
    text = text_dir(tmp_path / "text", "u1 hali yako\nu2 ni mimi\nu3 kesho\n")
    rc = tts_inference.main(["--model_dir", str(packed[1]), "--text_dir", str(text),
                             "--out_dir", str(tmp_path / "out"), "--speaker", "target",
                             "--attention_scores", "--write_durations", "--no_vocoder", *FAST])
    assert rc == 0
    assert f"synthesized ({TARGET}) 3 utterances" in capsys.readouterr().out
    out = tmp_path / "out"
    assert not (out / "wav.scp").exists() and (out / "feats.scp").is_file()
    summary = json.loads((out / "attention.json").read_text())
    assert summary["utterances"] == 3
    assert all(0.0 <= summary[k] <= 1.0 for k in ("wcr", "adr", "focus_rate"))
    feats = dict(line.split() for line in (out / "feats.scp").read_text().splitlines())
    for line in (out / "durations").read_text().splitlines():
        utt, *durations = line.split()
        assert sum(map(int, durations)) == np.load(feats[utt]).shape[0]
        assert np.load(out / "att_ws" / f"{utt}.npy").shape[1] == len(durations)


def test_tts_inference_cli_nj2_equals_nj1(packed, tmp_path):
    text = text_dir(tmp_path / "text", "u1 hali yako\nu2 ni mimi\nu3 kesho\n")
    for nj in ("1", "2"):
        assert tts_inference.main(["--model_dir", str(packed[1]), "--text_dir", str(text),
                                   "--out_dir", str(tmp_path / nj), "--speaker", "mmap",
                                   "--nj", nj, "--no_vocoder", *FAST]) == 0
    for utt in ("u1", "u2", "u3"):
        np.testing.assert_array_equal(np.load(tmp_path / "1" / "feats" / f"{utt}.npy"),
                                      np.load(tmp_path / "2" / "feats" / f"{utt}.npy"))


def test_tts_inference_cli_griffin_lim_data_dir(packed, tmp_path):
    text = text_dir(tmp_path / "text", "u1 hali yako\n")
    assert tts_inference.main(["--model_dir", str(packed[1]), "--text_dir", str(text),
                               "--out_dir", str(tmp_path / "out"), *FAST]) == 0
    dd = DataDir.load(tmp_path / "out")
    assert dd.kind == "paired" and dd.utt2spk == {"u1": TARGET}
    assert Path(dd.wav_scp["u1"]).is_file()


@pytest.mark.parametrize("args, message", [
    (["--speaker", "zuhura"], "unknown speaker 'zuhura'; known speakers: "),
    (["--teacher_forcing"], "--teacher_forcing needs --speech_dir"),
    (["--nj", "0"], "--nj must be >= 1"),
    (["--no_vocoder", "--vocoder_file", "v.pth"], "--no_vocoder and --vocoder_file exclude"),
    (["--vocoder", "hifigan_universal"], "the TTS's features differ from the HiFi-GAN vocoder's "
                                         "(fs: vocoder 22050 vs TTS 16000"),
    (["--vocoder", "wavenet"], "--vocoder 'wavenet': use auto, griffin_lim, hifigan_universal"),
])
def test_tts_inference_cli_bad_arguments(packed, tmp_path, capsys, args, message):
    text = text_dir(tmp_path / "text", "u1 hali\n")
    rc = tts_inference.main(["--model_dir", str(packed[1]), "--text_dir", str(text),
                             "--out_dir", str(tmp_path / "out"), *args])
    assert rc == 1 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_tts_inference_cli_missing_text(packed, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    rc = tts_inference.main(["--model_dir", str(packed[1]), "--text_dir",
                             str(tmp_path / "empty"), "--out_dir", str(tmp_path / "out")])
    assert rc == 1 and "empty/text: missing; synthesis needs a text file" in \
        capsys.readouterr().err


def test_attention_summary_without_maps_is_null(tmp_path):
    """FastSpeech2 writes no attention maps: the summary holds null, which JSON and the report
    read as 'no value' (NaN used to print as 'nan' in the report)."""
    summary = tts_inference.attention_summary(tmp_path, [])
    assert summary == {"utterances": 0, "wcr": None, "adr": None, "focus_rate": None}
    assert "NaN" not in json.dumps(summary)
