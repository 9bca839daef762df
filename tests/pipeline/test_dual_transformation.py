"""Tests for lrspeech.pipeline.dual_transformation and lrspeech.pipeline.distillation (the
decisions of stages 6 and 7) and their CLIs."""

from pathlib import Path

import pytest

from lrspeech.bin import distillation as kd_cli
from lrspeech.bin import dual_transformation as dt_cli
from lrspeech.data.datadir import DataDir
from lrspeech.errors import InputError, LrspeechError
from lrspeech.pipeline import distillation as kd
from lrspeech.pipeline import dual_transformation as dt


def write(path: Path, lines) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{ln}\n" for ln in lines), encoding="utf-8")
    return path


@pytest.fixture()
def round_inputs(tmp_path: Path):
    """Unpaired speech (4 clips), the ASR's labels and scores, dev with its decoding, text."""
    speech = tmp_path / "speech"
    write(speech / "wav.scp", [f"u{i} /x/u{i}.wav" for i in range(4)])
    write(speech / "utt2spk", [f"u{i} spkA" for i in range(4)])
    hyp = tmp_path / "hyp"
    write(hyp / "text", ["u0 habari yako", "u1 ", "u2 asante sana", "u3 ndiyo"])
    write(hyp / "score", ["u0 -0.1", "u1 -0.2", "u2 -2.5", "u3 -0.4"])
    dev, dev_hyp = tmp_path / "dev", tmp_path / "dev_hyp"
    write(dev / "wav.scp", ["d0 /x/d0.wav", "d1 /x/d1.wav"])
    write(dev / "text", ["d0 habari", "d1 asante"])
    write(dev / "utt2spk", ["d0 spkA", "d1 spkA"])
    write(dev_hyp / "text", ["d0 habari", "d1 asanta"])
    write(dev_hyp / "score", ["d0 -0.1", "d1 -3.0"])
    text = tmp_path / "text"
    write(text / "text", [f"t{i:02d} sentensi namba {i}" for i in range(10)])
    return speech, hyp, dev, dev_hyp, text


def test_voices_are_the_first_speakers_by_id_without_unk(tmp_path: Path) -> None:
    spk2sid = write(tmp_path / "spk2sid", ["<unk> 0", "b 2", "a 1", "c 3"])
    assert dt.voices(spk2sid, 2) == ["a", "b"]
    assert dt.voices(spk2sid, 9) == ["a", "b", "c"]
    with pytest.raises(InputError, match="at least one voice"):
        dt.voices(spk2sid, 0)
    with pytest.raises(InputError, match="rerun stage 3"):
        dt.voices(write(tmp_path / "only_unk", ["<unk> 0"]), 1)


def test_each_round_and_distillation_sample_with_their_own_seed() -> None:
    seeds = [dt.round_seed(3, r) for r in (1, 2, 3)] + [kd.text_seed(3)]
    assert seeds == [3001, 3002, 3003, 3999] and len(set(seeds)) == 4
    with pytest.raises(InputError):
        dt.round_seed(1, 0)


def test_round_data_keeps_the_best_labels_and_splits_the_text_by_voice(round_inputs,
                                                                       tmp_path: Path) -> None:
    speech, hyp, dev, dev_hyp, text = round_inputs
    out = tmp_path / "round1"
    data = dt.prepare_round(out, 1, 1, ["a", "b"], speech, hyp, text, 6, keep_share=0.5,
                            dev_dir=dev, dev_hyp_dir=dev_hyp)
    pairs = DataDir.load(out / "tts_pairs")
    assert sorted(pairs.text) == ["u0", "u3"]  # u1 empty; u2 scored lowest of the three left
    assert data.labels is not None and data.labels.kept == 2 and data.labels.dev_kept == 1
    sample = DataDir.load(out / "text")
    assert len(sample.text) == 6 and set(sample.utt2spk.values()) == {"a", "b"}
    per_voice = [DataDir.load(p) for p in data.text_per_voice]
    assert [set(d.utt2spk.values()) for d in per_voice] == [{"a"}, {"b"}]
    assert sum(len(d.text) for d in per_voice) == 6
    again = tmp_path / "again"  # a rerun samples the same sentences; round 2 others
    dt.prepare_round(again, 1, 1, ["a", "b"], speech, hyp, text, 6)
    assert DataDir.load(again / "text").text == sample.text
    dt.prepare_round(tmp_path / "r2", 2, 1, ["a", "b"], speech, hyp, text, 6)
    assert DataDir.load(tmp_path / "r2" / "text").text != sample.text


def test_round_data_cli_prints_the_label_summary(round_inputs, tmp_path: Path, capsys) -> None:
    speech, hyp, dev, dev_hyp, text = round_inputs
    argv = ["round_data", "--round", "1", "--seed", "1", "--voices", "a", "--speech_dir",
            str(speech), "--hyp_dir", str(hyp), "--text_dir", str(text), "--n_text", "3",
            "--dev_dir", str(dev), "--dev_hyp_dir", str(dev_hyp), "--out_dir",
            str(tmp_path / "r")]
    assert dt_cli.main(argv) == 0
    assert capsys.readouterr().out.startswith("labels kept 3/3")
    assert dt_cli.main(argv[:-6] + ["--dev_dir", str(dev), "--out_dir", str(tmp_path / "r")]) == 1
    assert "go together" in capsys.readouterr().err


def test_synthetic_pairs_combine_the_voices_that_spoke(tmp_path: Path) -> None:
    a, b, silent = tmp_path / "a", tmp_path / "b", tmp_path / "silent"
    write(a / "wav.scp", ["x1 /x/1.wav"]), write(a / "text", ["x1 moja"])
    write(a / "utt2spk", ["x1 va"])
    write(b / "wav.scp", ["y1 /x/2.wav"]), write(b / "text", ["y1 mbili"])
    write(b / "utt2spk", ["y1 vb"])
    silent.mkdir()
    dd = dt.synthetic_pairs([a, silent, b], tmp_path / "out")
    assert sorted(DataDir.load(tmp_path / "out").text) == ["x1", "y1"] == sorted(dd.text)
    with pytest.raises(InputError, match="too weak"):
        dt.synthetic_pairs([silent], tmp_path / "none")


def synthetic_round(tmp_path: Path, n_real: int = 4, n_synth: int = 12):
    """A real paired dir and a round's asr_pairs of `n_synth` synthetic clips in two voices."""
    real, pairs = tmp_path / "paired", tmp_path / "asr_pairs"
    write(real / "wav.scp", [f"p{i} /x/p{i}.wav" for i in range(n_real)])
    write(real / "text", [f"p{i} habari" for i in range(n_real)])
    write(real / "utt2spk", [f"p{i} target" for i in range(n_real)])
    ids = sorted(f"v{i % 2}-s{i:02d}" for i in range(n_synth))
    write(pairs / "wav.scp", [f"{u} /x/{u}.wav" for u in ids])
    write(pairs / "text", [f"{u} neno" for u in ids])
    write(pairs / "utt2spk", [f"{u} v{u[1]}" for u in ids])
    return real, pairs


@pytest.mark.parametrize("ratio,expected", [("all", 12), ("0.5", 4), ("0.2", 1), ("0.75", 12)])
def test_the_round_asr_gets_the_synthetic_share_it_asks_for(tmp_path, ratio, expected) -> None:
    real, pairs = synthetic_round(tmp_path)
    dd = dt.asr_synthetic([real], pairs, ratio, 1, tmp_path / "out")
    saved = DataDir.load(tmp_path / "out")
    assert len(saved.text) == len(dd.text) == expected  # 0.75 of 4 real asks 12: all there are
    assert set(saved.text) <= set(DataDir.load(pairs).text)


def test_the_synthetic_share_is_seeded(tmp_path: Path) -> None:
    real, pairs = synthetic_round(tmp_path, n_real=10)
    picks = [sorted(dt.asr_synthetic([real], pairs, "0.4", seed, tmp_path / f"s{seed}").text)
             for seed in (1, 1, 2)]
    assert picks[0] == picks[1] and len(picks[0]) == 7  # 0.4 * 10 / 0.6 = 6.67 -> 7
    assert picks[0] != picks[2]


@pytest.mark.parametrize("ratio,match", [("1.0", "share in"), ("half", "share in"),
                                         ("0.01", "give 0 to train")])
def test_a_bad_synthetic_ratio_says_what_to_give(tmp_path, ratio, match) -> None:
    real, pairs = synthetic_round(tmp_path)
    with pytest.raises(InputError, match=match):
        dt.asr_synthetic([real], pairs, ratio, 1, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_asr_synthetic_cli(tmp_path: Path, capsys) -> None:
    real, pairs = synthetic_round(tmp_path)
    argv = ["asr_synthetic", "--real", str(real), "--pairs", str(pairs), "--ratio", "0.5",
            "--seed", "3", "--out", str(tmp_path / "out")]
    assert dt_cli.main(argv) == 0
    assert "4 synthetic pairs for the ASR" in capsys.readouterr().out
    argv[argv.index("--ratio") + 1] = "1.5"
    assert dt_cli.main(argv) == 1
    assert "dt_asr_synth_ratio" in capsys.readouterr().err


@pytest.mark.parametrize("student,init,align,config,start", [
    ("fastspeech", "teacher", "ctc", "fs2.yaml", "teacher_dir"),   # same config: from teacher
    ("fastspeech", "teacher", "attention", "fs.yaml", None),       # other config: scratch
    ("transformer", "teacher", "attention", "tr.yaml", "teacher_dir"),
    ("fastspeech", "scratch", "ctc", "fs2.yaml", None),
])
def test_the_tts_student_config_and_start(student, init, align, config, start) -> None:
    teacher_cfg = "fs2.yaml" if align == "ctc" else "tr.yaml"
    st = kd.tts_student(student, init, align, teacher_cfg, "fs.yaml", "teacher_dir")
    assert (st.config, st.init) == (config, start) and st.why


def test_a_bad_student_choice_is_an_lrspeech_error() -> None:
    with pytest.raises(LrspeechError, match="--kd_student"):
        kd.tts_student("tacotron", "teacher", "ctc", "a", "b", "t")


def test_the_asr_student_hears_the_last_rounds_speech_else_the_teachers(tmp_path: Path) -> None:
    last, kd_dir = tmp_path / "dt" / "round2", tmp_path / "kd"
    assert kd.synthetic_source(last, kd_dir) == kd_dir / "tts_pairs"
    (last / "asr_pairs").mkdir(parents=True)
    assert kd.synthetic_source(last, kd_dir) == last / "asr_pairs"


def test_asr_student_data_mixes_real_labelled_and_synthetic(round_inputs, tmp_path, capsys):
    speech, hyp, dev, _, _ = round_inputs
    synth = tmp_path / "kd" / "tts_pairs"
    write(synth / "wav.scp", [f"s{i:02d} /x/s{i}.wav" for i in range(20)])
    write(synth / "text", [f"s{i:02d} neno" for i in range(20)])
    write(synth / "utt2spk", [f"s{i:02d} target" for i in range(20)])
    argv = ["asr_data", "--real", str(dev), "--speech_dir", str(speech), "--hyp_dir", str(hyp),
            "--last_dt", str(tmp_path / "no_rounds"), "--kd_dir", str(tmp_path / "kd"),
            "--ratio", "0.5", "--seed", "1"]
    assert kd_cli.main(argv) == 0
    train = DataDir.load(tmp_path / "kd" / "asr_train")
    labelled = DataDir.load(tmp_path / "kd" / "speech_pairs")
    assert sorted(labelled.text) == ["u0", "u2", "u3"]  # every non-empty label, no threshold
    real = {"d0", "d1", "u0", "u2", "u3"}
    assert real <= set(train.text) and len(set(train.text) - real) == 5  # half synthetic
    assert "synthetic: " in capsys.readouterr().out
