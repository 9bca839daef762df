"""Tests for lrspeech.pipeline.durations: TTS durations, files, score filtering, FS2 lists."""

import json
from pathlib import Path
from typing import List, Tuple

import numpy as np
import pytest
import soundfile as sf

from lrspeech.pipeline.align import AlignmentError, TokenAlignment, word_index
from lrspeech.pipeline.durations import (
    DURATIONS,
    FRAMES,
    SCORES,
    TOKENS,
    TtsFrames,
    auto_min_score,
    group_tts_tokens,
    prepare_fastspeech2_inputs,
    read_durations,
    read_scores,
    resolve_min_score,
    score_distribution,
    split_frames,
    tts_durations,
    write_durations,
    write_scores,
)

REPO = Path(__file__).resolve().parents[2]
FRAMES16 = TtsFrames(16000, 160)  # 10 ms frames: easy numbers


def bursts(pattern: List[Tuple[bool, float]], sr: int = 16000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.concatenate(
        [rng.normal(0, 0.3 if loud else 0.001, int(s * sr)) for loud, s in pattern]
    ).astype(np.float32)


def alignment(
    tokens: List[str], spans: List[Tuple[float, float]], duration: float
) -> TokenAlignment:
    return TokenAlignment(
        utt_id="u1", tokens=tokens, spans=spans, words=word_index(tokens),
        duration=duration, frame_shift=0.04, score=-0.1,
    )


# "ab cd": 0.2 s silence, "ab" 0.5 s, 0.3 s pause, "cd" 0.5 s, 0.5 s silence = 2.0 s
WAV = bursts([(False, 0.2), (True, 0.5), (False, 0.3), (True, 0.5), (False, 0.5)])
TOKS = ["a", "b", "<space>", "c", "d"]
SPANS = [(0.24, 0.28), (0.44, 0.48), (0.84, 0.88), (1.04, 1.08), (1.28, 1.32)]


def test_split_frames_is_proportional_exact_and_at_least_one():
    assert split_frames(10, [1, 1, 1]) == [4, 3, 3]
    assert split_frames(8, [1, 3]) == [2, 6]
    assert split_frames(4, [1, 100, 1, 1]) == [1, 1, 1, 1]
    assert split_frames(2, [1, 1, 1]) == [1, 1, 0]
    assert split_frames(0, []) == []


def test_tts_tokens_group_into_words_and_pauses():
    words, pauses = group_tts_tokens(["<space>", "h", "a", "<space>", ",", "<space>", "b", "."])
    assert words == [[1, 2], [6]]
    assert pauses == [[0], [3, 4, 5], [7]]


def test_same_units_pause_to_space_and_trailing_silence_to_eos():
    d = tts_durations(alignment(TOKS, SPANS, 2.0), TOKS, WAV, FRAMES16)
    n_frames = len(WAV) // 160 + 1
    assert sum(d.durations) == n_frames == 201
    assert len(d.durations) == len(TOKS) + 1
    a, b, space, c, dd, eos = d.durations
    assert a + b == pytest.approx(70, abs=3)  # leading 0.2 s silence joins "a": 0.2 + 0.5 s
    assert space == pytest.approx(30, abs=3)  # the 0.3 s pause
    assert c + dd == pytest.approx(50, abs=3)
    assert eos == pytest.approx(51, abs=3)  # the final 0.5 s (+ the centred extra frame)
    assert min(d.durations[:-1]) >= 1
    assert [w for w, _, _ in d.words] == ["ab", "cd"]
    assert d.words[1][1] == pytest.approx(1.0, abs=0.03)


def test_other_units_share_each_word_in_proportion():
    phones = ["a", "bː", "<space>", "k", "a", "d"]
    weights = {"bː": 2.0}
    d = tts_durations(alignment(TOKS, SPANS, 2.0), phones, WAV, FRAMES16, weights=weights)
    same = tts_durations(alignment(TOKS, SPANS, 2.0), TOKS, WAV, FRAMES16)
    first = same.durations[0] + same.durations[1]
    assert d.durations[0] + d.durations[1] == first
    lead = 20  # the leading 0.2 s of silence goes to the first token, whatever the weights
    assert d.durations[1] == pytest.approx(2 * (d.durations[0] - lead), abs=2)
    assert d.durations[2] == same.durations[2]
    assert d.durations[3:6] == split_frames(sum(same.durations[3:5]), [1, 1, 1])
    assert sum(d.durations) == 201


def test_punctuation_takes_the_pause_and_a_text_without_breaks_is_one_word():
    d = tts_durations(alignment(TOKS, SPANS, 2.0), ["ab", ",", "cd"], WAV, FRAMES16)
    assert d.durations[1] == pytest.approx(30, abs=3)
    assert group_tts_tokens(["ab", "cd"]) == ([[0, 1]], [[], []])


def test_word_count_mismatch_is_an_error():
    msg = "ASR transcript has 2 words but the TTS tokens have 3"
    with pytest.raises(AlignmentError, match=msg):
        tts_durations(alignment(TOKS, SPANS, 2.0), ["a", "<space>", "b", "<space>", "c"], WAV,
                      FRAMES16)


def test_audio_too_short_for_the_tts_tokens_is_an_error():
    short = WAV[: 160 * 3]
    with pytest.raises(AlignmentError, match="4 TTS frames cannot hold 5 tokens"):
        tts_durations(alignment(TOKS, [(0, 0.01)] * 5, 0.03), TOKS, short, FRAMES16)


def test_frames_from_the_fastspeech2_configs():
    for size in ("tiny", "paper"):
        frames = TtsFrames.from_tts_config(REPO / "conf" / "tts" / f"fastspeech2_{size}.yaml")
        assert (frames.fs, frames.hop_length) == (16000, 256)
        assert frames.n_frames(16000) == 63


def test_config_without_frame_settings_is_an_error(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("tts: fastspeech2\n")
    with pytest.raises(ValueError, match="x.yaml: feats_extract_conf needs fs and hop_length"):
        TtsFrames.from_tts_config(path)


# ---------------------------------------------------------------- files and scores


def test_durations_and_scores_round_trip(tmp_path):
    write_durations(tmp_path / "durations", {"b": [1, 2, 0], "a": [3]})
    assert (tmp_path / "durations").read_text() == "a 3\nb 1 2 0\n"
    assert read_durations(tmp_path / "durations") == {"a": [3], "b": [1, 2, 0]}
    write_scores(tmp_path / "scores", {"a": -0.123456})
    assert read_scores(tmp_path / "scores") == {"a": -0.1235}


def test_malformed_duration_and_score_lines_are_named(tmp_path):
    (tmp_path / "durations").write_text("a 1 2\nb 1 x\n")
    with pytest.raises(ValueError, match=r"durations:2: utterance 'b' needs non-negative integer"):
        read_durations(tmp_path / "durations")
    (tmp_path / "scores").write_text("a high\n")
    with pytest.raises(ValueError, match=r"scores:1: utterance 'a' has score 'high', not a number"):
        read_scores(tmp_path / "scores")


def test_score_threshold_drops_outliers_only():
    scores = {f"u{i}": -0.1 - 0.01 * i for i in range(10)}
    scores["bad"] = -2.0
    threshold = auto_min_score(scores)
    assert threshold == pytest.approx(np.median(list(scores.values())) - 0.2, abs=0.05)
    assert [u for u, s in scores.items() if s < threshold] == ["bad"]
    assert resolve_min_score(None, scores) == -np.inf
    assert resolve_min_score("-0.5", scores) == -0.5
    with pytest.raises(ValueError, match="min_score 'low': give a number"):
        resolve_min_score("low", scores)
    dist = score_distribution(scores)
    assert dist["n"] == 11 and dist["min"] == -2.0
    assert sum(h["count"] for h in dist["histogram"]) == 11


# ---------------------------------------------------------------- FastSpeech2 lists


def write_align_dir(path: Path, rows, frames: TtsFrames, scores, broken=()) -> None:
    """An align dir as ctc_align writes it, with uniform durations that fit the audio."""
    path.mkdir(parents=True)
    durations, tokens = {}, {}
    for row in rows:
        toks = list(row["text"].lower().replace(" ", "_").strip("."))
        toks = ["<space>" if t == "_" else t for t in toks]
        n = frames.n_frames(sf.info(row["audio"]).frames)
        d = split_frames(n, [1.0] * (len(toks) + 1))
        if row["id"] in broken:
            d[0] += 1
        durations[row["id"]], tokens[row["id"]] = d, toks
    write_durations(path / DURATIONS, durations)
    write_scores(path / SCORES, scores)
    (path / TOKENS).write_text("".join(f"{u} {' '.join(t)}\n" for u, t in sorted(tokens.items())))
    (path / FRAMES).write_text(f"fs: {frames.fs}\nhop_length: {frames.hop_length}\n")


def write_data_dir(path: Path, rows) -> None:
    path.mkdir(parents=True)
    rows = sorted(rows, key=lambda r: r["id"])
    (path / "wav.scp").write_text("".join(f"{r['id']} {r['audio']}\n" for r in rows))
    (path / "text").write_text("".join(f"{r['id']} {r['text']}\n" for r in rows))
    (path / "utt2spk").write_text("".join(f"{r['id']} {r['speaker']}\n" for r in rows))


def test_fastspeech2_lists_keep_good_alignments_and_report_the_rest(tmp_path, sw_rows, an4_rows):
    rows = sw_rows[:4] + an4_rows[:2]
    ids = sorted(r["id"] for r in rows)
    scores = {u: -0.1 for u in ids}
    scores[ids[0]] = -3.0  # a transcript that does not match
    frames = TtsFrames(16000, 256)
    write_data_dir(tmp_path / "data", rows)
    write_align_dir(tmp_path / "align", [r for r in rows if r["id"] != ids[1]], frames,
                    {u: s for u, s in scores.items() if u != ids[1]}, broken=(ids[2],))
    report = prepare_fastspeech2_inputs(tmp_path / "data", tmp_path / "align", tmp_path / "lists")
    assert list(report.low_score) == [ids[0]]
    assert report.not_aligned == [ids[1]]
    assert list(report.mismatched) == [ids[2]]
    assert "durations sum to" in report.mismatched[ids[2]]
    assert report.kept == ids[3:]
    lists = tmp_path / "lists"
    durations = read_durations(lists / "durations")
    assert sorted(durations) == ids[3:]
    texts = dict(line.split(maxsplit=1) for line in (lists / "text").read_text().splitlines())
    for utt, d in durations.items():
        assert len(d) == len(texts[utt].split()) + 1
    spk2sid = dict(line.split() for line in (lists / "spk2sid").read_text().splitlines())
    assert spk2sid["<unk>"] == "0" and len(spk2sid) == 4  # sw_35d + 2 an4 speakers + <unk>
    summary = report.summary()
    assert (summary["kept"], summary["low_score"], summary["not_aligned"]) == (3, 1, 1)
    json.dumps(summary)


def test_fastspeech2_lists_refuse_audio_at_another_rate(tmp_path, sw_rows):
    rows = sw_rows[:2]
    write_data_dir(tmp_path / "data", rows)
    write_align_dir(tmp_path / "align", rows, TtsFrames(22050, 256), {r["id"]: -0.1 for r in rows})
    with pytest.raises(ValueError, match=r"no utterance .* is left for FastSpeech2 .*mismatched 2.*"
                       r"audio is 16000 Hz but the durations are for 22050 Hz"):
        prepare_fastspeech2_inputs(tmp_path / "data", tmp_path / "align", tmp_path / "lists")
    assert not (tmp_path / "lists").exists()


def test_fastspeech2_lists_need_cut_segments(tmp_path, sw_rows):
    write_data_dir(tmp_path / "data", sw_rows[:1])
    (tmp_path / "data" / "segments").write_text(f"s1 {sw_rows[0]['id']} 0.0 1.0\n")
    (tmp_path / "data" / "text").write_text("s1 a\n")
    (tmp_path / "data" / "utt2spk").write_text("s1 x\n")
    write_align_dir(tmp_path / "align", sw_rows[:1], TtsFrames(16000, 256), {"s1": -0.1})
    with pytest.raises(ValueError, match="segments: FastSpeech2 lists need one audio file"):
        prepare_fastspeech2_inputs(tmp_path / "data", tmp_path / "align", tmp_path / "lists")
