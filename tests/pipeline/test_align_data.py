"""lrspeech.pipeline.align_data: a whole data dir aligned, bad clips left out with a reason."""

import json

import numpy as np
import soundfile as sf

from lrspeech.data.datadir import DataDir
from lrspeech.pipeline.align_data import align_data_dir, align_utterances
from lrspeech.pipeline.duration_files import read_durations, read_token_file
from lrspeech.pipeline.durations import TtsFrames


def test_clips_that_cannot_be_aligned_are_left_out_with_their_reason(
        tmp_path, sw_rows, fake_aligner):
    row = sorted(sw_rows, key=lambda r: r["id"])[0]
    sf.write(tmp_path / "empty.wav", np.zeros(0, dtype=np.float32), 16000)
    sf.write(tmp_path / "short.wav", np.zeros(800, dtype=np.float32), 16000)
    dd = DataDir(wav_scp={"a": row["audio"], "b": str(tmp_path / "empty.wav"),
                          "c": str(tmp_path / "short.wav"), "d": row["audio"]},
                 text={"a": row["text"].lower(), "b": "x", "c": "habari za asubuhi"},
                 utt2spk={u: "s" for u in "abcd"})
    report = align_utterances(fake_aligner(), dd, TtsFrames(16000, 256))
    assert sorted(report.results) == ["a"] and report.kept == ["a"]
    assert report.skips.reasons == {"b": "empty", "c": "unalignable", "d": "unalignable"}
    assert "has no transcript" in report.skipped["d"]
    assert "cannot hold" in report.skipped["c"]


def test_a_threshold_keeps_durations_of_the_good_ones_only(tmp_path, sw_rows, fake_aligner):
    rows = sorted(sw_rows, key=lambda r: r["id"])[:6]
    DataDir(wav_scp={r["id"]: r["audio"] for r in rows},
            text={r["id"]: r["text"].lower() for r in rows},
            utt2spk={r["id"]: "s" for r in rows}).save(tmp_path / "data")
    bad = rows[2]["id"]
    report = align_data_dir(fake_aligner({bad: -4.0}), tmp_path / "data", tmp_path / "align",
                            TtsFrames(16000, 256), None,
                            min_score="auto")
    assert report.selection.low_score == {bad: -4.0}
    assert bad not in read_durations(tmp_path / "align" / "durations")
    assert bad in read_token_file(tmp_path / "align" / "tokens")
    saved = json.loads((tmp_path / "align" / "report.json").read_text())
    assert saved["selection"]["low_score"] == 1 and saved["aligned"] == 6


def test_cached_features_are_given_to_the_aligner_in_place_of_encoding(
        tmp_path, sw_rows, fake_aligner):
    import kaldiio

    rows = sorted(sw_rows, key=lambda r: r["id"])[:2]
    dd = DataDir(wav_scp={r["id"]: r["audio"] for r in rows},
                 text={r["id"]: r["text"].lower() for r in rows},
                 utt2spk={r["id"]: "s" for r in rows})
    matrix = np.arange(12, dtype=np.float32).reshape(4, 3)
    with kaldiio.WriteHelper(f"ark,scp:{tmp_path}/f.ark,{tmp_path}/f.scp") as w:
        w(rows[0]["id"], matrix)
    entry = (tmp_path / "f.scp").read_text().split(maxsplit=1)[1].strip()
    seen = {}

    class Recording(fake_aligner):
        def align(self, utt, wav, text=None, tokens=None, feats=None):
            seen[utt] = feats
            return super().align(utt, wav, text=text, tokens=tokens)

    report = align_utterances(Recording(), dd, TtsFrames(16000, 256), feats={rows[0]["id"]: entry})
    assert sorted(report.results) == sorted(r["id"] for r in rows)
    np.testing.assert_array_equal(seen[rows[0]["id"]], matrix)  # read from the cache
    assert seen[rows[1]["id"]] is None  # no cache entry: the audio is encoded
