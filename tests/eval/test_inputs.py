"""Tests of lrspeech.eval.inputs: Kaldi text files and audio sets."""

import numpy as np
import pytest
import soundfile as sf

from lrspeech.eval.inputs import EvalInputError, audio_set, read_text, read_text_entries


def _wav(path, n=1600, sr=16000):
    sf.write(str(path), np.full(n, 0.1, dtype=np.float32), sr)


def test_read_text_file_and_dir(tmp_path):
    (tmp_path / "text").write_text("u1 Hello there\nu2 \nu3 a  b\n")
    assert read_text(tmp_path) == {"u1": "Hello there", "u2": "", "u3": "a  b"}
    assert read_text_entries(tmp_path / "text")["u3"].line == 3


def test_duplicate_id_names_file_and_line(tmp_path):
    (tmp_path / "text").write_text("u1 a\nu1 b\n")
    with pytest.raises(EvalInputError, match=r"text:2: .*'u1' is a duplicate id"):
        read_text(tmp_path / "text")


def test_missing_text_file(tmp_path):
    with pytest.raises(
        EvalInputError, match="text file not found; give the `text` file of a data dir"
    ):
        read_text(tmp_path / "nope")


def test_wav_folder(tmp_path):
    _wav(tmp_path / "b.wav")
    _wav(tmp_path / "a.wav")
    (tmp_path / "notes.txt").write_text("x")
    refs = audio_set(tmp_path)
    assert list(refs) == ["a", "b"]
    x, sr = refs["a"].load()
    assert sr == 16000 and len(x) == 1600


def test_data_dir_with_relative_paths_and_segments(tmp_path):
    _wav(tmp_path / "rec.wav", n=32000)
    (tmp_path / "wav.scp").write_text("rec rec.wav\n")
    (tmp_path / "segments").write_text("u1 rec 0.0 0.5\nu2 rec 1.0 1.25\n")
    refs = audio_set(tmp_path)
    assert sorted(refs) == ["u1", "u2"]
    assert len(refs["u2"].load()[0]) == 4000
    assert len(refs["u1"].load(target_sr=8000)[0]) == 4000


def test_bad_audio_sets_have_clear_messages(tmp_path):
    with pytest.raises(EvalInputError, match="not a directory; give a data dir with wav.scp"):
        audio_set(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(EvalInputError, match="holds no audio"):
        audio_set(tmp_path / "empty")
    (tmp_path / "two").mkdir()
    _wav(tmp_path / "two" / "u.wav")
    _wav(tmp_path / "two" / "u.flac")
    with pytest.raises(EvalInputError, match="utterance 'u' has two audio files"):
        audio_set(tmp_path / "two")
    (tmp_path / "dd").mkdir()
    (tmp_path / "dd" / "wav.scp").write_text("b x.wav\na y.wav\n")
    with pytest.raises(EvalInputError, match=r"wav.scp:2: .*'a' is out of order"):
        audio_set(tmp_path / "dd")


def test_a_synthesis_where_every_clip_failed_is_all_missing_not_an_error(tmp_path):
    out = tmp_path / "synth"
    out.mkdir()
    (out / "wav.scp").write_text("")
    with pytest.raises(EvalInputError, match="holds no audio"):  # an empty dir: the wrong one
        audio_set(out)
    (out / "failed").write_text("u1 habari za asubuhi\n")
    assert audio_set(out) == {}


def test_ir_counts_every_failed_clip_unintelligible(tmp_path):
    from lrspeech.eval.ir import evaluate_ir
    from lrspeech.eval.judge import Judge

    class Deaf(Judge):
        name = "deaf"

        def transcribe(self, wav, sr):  # never called: no audio
            raise AssertionError("no clip to transcribe")

    r = evaluate_ir(Deaf(), {"u1": "habari za asubuhi", "u2": "mvua"}, {})
    assert r.ir == 0.0 and sorted(r.score.missing) == ["u1", "u2"]
    assert r.score.cer == 1.0  # all deletions
