"""lrspeech.pipeline.align_step: the ctc_align recipe step on the shipped Swahili clips, with an
aligner that needs no ASR: one durations dir per step, what was left out and why recorded."""

import json
from pathlib import Path

import pytest
import soundfile as sf

from lrspeech.data.datadir import DataDir
from lrspeech.data.kaldi_files import read_scores
from lrspeech.errors import InputError
from lrspeech.pipeline.align_step import AlignStep, read_record, run_align_step
from lrspeech.pipeline.duration_files import read_durations, read_token_file
from lrspeech.pipeline.durations import TtsFrames

REPO = Path(__file__).resolve().parents[2]
LANG = REPO / "conf" / "lang" / "sw.yaml"


def data_dir(rows, out: Path) -> Path:
    DataDir(wav_scp={r["id"]: r["audio"] for r in rows}, text={r["id"]: r["text"] for r in rows},
            utt2spk={r["id"]: r["speaker"] for r in rows}).save(out)
    return out


@pytest.fixture
def dirs(tmp_path, sw_rows):
    rows = sorted(sw_rows, key=lambda r: r["id"])
    return {"train": [data_dir(rows[:3], tmp_path / "a"), data_dir(rows[3:5], tmp_path / "b")],
            "valid": data_dir(rows[10:], tmp_path / "dev"), "rows": rows}


def step(tmp_path, dirs, tokens, **kw) -> AlignStep:
    kw = {"out_dir": tmp_path / "durs", "token_type": "char", **kw}
    return AlignStep(asr_model=tmp_path / "asr", train_dirs=dirs["train"],
                     frames=TtsFrames(16000, 256), valid_dir=dirs["valid"], lang_config=LANG,
                     token_list=tokens, **kw)


def test_one_dir_holds_both_splits_and_what_was_left_out(tmp_path, dirs, fake_aligner,
                                                         tts_token_list):
    rows = dirs["rows"]
    tokens = tts_token_list(LANG, [r["text"] for r in rows], tmp_path / "tokens.txt")
    low = rows[1]["id"]
    aligner = fake_aligner({low: -3.0})
    reports = run_align_step(step(tmp_path, dirs, tokens), aligner)
    out = tmp_path / "durs"
    assert sorted(p.name for p in out.iterdir()) == ["align.json", "train", "valid"]
    train_ids = [r["id"] for r in rows[:5]]
    durations = read_durations(out / "train" / "durations")
    assert sorted(durations) == [u for u in train_ids if u != low]  # the outlier is left out
    assert sorted(read_scores(out / "train" / "scores")) == train_ids  # but its score is kept
    tts = read_token_file(out / "train" / "tokens")
    for utt, d in durations.items():
        assert len(d) == len(tts[utt]) + 1
        assert sum(d) == sf.info(next(r["audio"] for r in rows if r["id"] == utt)).frames // 256 + 1
    # the ASR aligned the scoring normalization; the durations count the TTS's char tokens
    first = rows[0]["id"]  # "3 Haki ya kupiga kura." (shipped text)
    assert "".join(aligner.texts[first]).replace("<space>", " ") == "tatu haki ya kupiga kura"
    assert tts[first][:5] == ["t", "a", "t", "u", "<space>"] and tts[first][-1] == "."
    skipped = json.loads((out / "train" / "skipped.json").read_text())
    assert skipped["counts"] == {"low_score": 1} and low in skipped["utts"]
    record = read_record(out)
    assert record["splits"]["train"]["data_dirs"] == [str(d.resolve()) for d in dirs["train"]]
    assert record["splits"]["train"]["kept"] == 4 and record["splits"]["train"]["low_score"] == 1
    assert record["splits"]["train"]["threshold"] == pytest.approx(
        reports["train"].selection.threshold, abs=1e-4)
    assert record["token_type"] == "char" and record["frames"] == {"fs": 16000, "hop_length": 256}
    assert sorted(read_durations(out / "valid" / "durations")) == sorted(
        r["id"] for r in rows[10:])


def test_a_rerun_replaces_the_whole_dir(tmp_path, dirs, fake_aligner, tts_token_list):
    rows = dirs["rows"]
    tokens = tts_token_list(LANG, [r["text"] for r in rows], tmp_path / "tokens.txt")
    run_align_step(step(tmp_path, dirs, tokens), fake_aligner({rows[1]["id"]: -3.0}))
    run_align_step(step(tmp_path, {**dirs, "valid": None}, tokens, min_score=None),
                   fake_aligner({rows[1]["id"]: -3.0}))
    out = tmp_path / "durs"
    assert sorted(p.name for p in out.iterdir()) == ["align.json", "train"]
    assert len(read_durations(out / "train" / "durations")) == 5  # min_score none: all kept
    assert read_record(out)["splits"]["train"]["threshold"] is None


def test_options_that_cannot_work_are_refused_before_aligning(tmp_path, dirs):
    with pytest.raises(InputError, match="--token_type char: the TTS tokens also need"):
        run_align_step(step(tmp_path, dirs, None), aligner=object())
    with pytest.raises(InputError, match=r"align.json: missing; .* not an output of"):
        read_record(tmp_path)
    assert not (tmp_path / "durs").exists()


def test_the_word_split_is_recorded_and_moves_phone_durations(tmp_path, dirs, fake_aligner,
                                                              tts_token_list):
    rows = dirs["rows"]
    tokens = tts_token_list(LANG, [r["text"] for r in rows], tmp_path / "phn.txt", "phn")
    got = {}
    for split in ("letters", "even"):
        s = step(tmp_path, dirs, tokens, token_type="phn", word_split=split,
                 out_dir=tmp_path / split)
        run_align_step(s, fake_aligner())
        assert read_record(tmp_path / split)["word_split"] == split
        got[split] = read_durations(tmp_path / split / "train" / "durations")
    assert sorted(got["letters"]) == sorted(got["even"])
    moved = [u for u in got["letters"] if got["letters"][u] != got["even"][u]]
    assert moved  # the letters the fake ASR emits evenly are not the phones: "ch" reads one
    for u in got["letters"]:
        assert sum(got["letters"][u]) == sum(got["even"][u])
    with pytest.raises(InputError, match="--word_split halves: use one of letters, even"):
        run_align_step(step(tmp_path, dirs, tokens, word_split="halves",
                            out_dir=tmp_path / "x"), aligner=object())
    assert not (tmp_path / "x").exists()
