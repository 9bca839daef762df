"""lrspeech.pipeline.durations: the durations of one utterance from its CTC alignment."""

from pathlib import Path
from typing import List, Tuple

import numpy as np
import pytest

from lrspeech.pipeline.align import AlignmentError, TokenAlignment, word_index
from lrspeech.pipeline.durations import TtsFrames, group_tts_tokens, split_frames, tts_durations

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


def test_a_word_internal_apostrophe_stays_in_its_word():
    # Suba "ng'ese": the ASR transcript (punctuation strip keeps the apostrophe) has one word;
    # the apostrophe token used to split the TTS word in two and drop the utterance
    toks = ["n", "g", "'", "e", "<space>", "a", "b"]
    assert group_tts_tokens(toks) == ([[0, 1, 2, 3], [5, 6]], [[], [4], []])
    # at a word's edge it is a quote mark: a pause, as before
    quoted = ["'", "a", "b", "'", "<space>", "c", "'", "<space>", "'", "d"]
    assert group_tts_tokens(quoted)[0] == [[1, 2], [5], [9]]
    assert group_tts_tokens(["a", "-", "b"])[0] == [[0], [2]]  # a hyphen splits (as ASR's strip)
    asr = ["a", "'", "b", "<space>", "c", "d"]
    spans = [(0.24, 0.28), (0.34, 0.38), (0.44, 0.48), (0.84, 0.88), (1.04, 1.08), (1.28, 1.32)]
    d = tts_durations(alignment(asr, spans, 2.0), asr, WAV, FRAMES16)
    assert [w for w, _, _ in d.words] == ["a'b", "cd"]
    assert sum(d.durations) == 201 and min(d.durations[:-1]) >= 1
    assert d.durations[3] == pytest.approx(30, abs=3)  # the pause is still the <space>'s


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


# "shika": silence 0.2 s, then the word; the ASR emits s h i k a at these times
SH_WAV = bursts([(False, 0.2), (True, 1.0), (False, 0.3)])
SH_SPANS = [(0.22, 0.24), (0.30, 0.32), (0.62, 0.64), (0.90, 0.92), (1.10, 1.12)]


def test_other_units_cut_at_the_letters_between_phones():
    phones = ["ʃ", "i", "k", "a"]  # "sh" is one phone: it ends where the ASR's h ends
    d = tts_durations(alignment(list("shika"), SH_SPANS, 1.5), phones, SH_WAV, FRAMES16)
    # the word starts at the leading silence's end (frame 0: the first token takes the silence);
    # cuts midway between the emissions: h|i 0.47 s, i|k 0.77 s, k|a 1.01 s
    edges = np.cumsum(d.durations[:4])
    assert edges.tolist() == pytest.approx([47, 77, 101, edges[3]], abs=1)
    even = tts_durations(alignment(list("shika"), SH_SPANS, 1.5), phones, SH_WAV, FRAMES16,
                         word_split="even")  # equal shares inside the word instead
    assert np.ptp(even.durations[1:4]) <= 1 and even.durations[1:4] != d.durations[1:4]
    assert sum(d.durations) == sum(even.durations) == len(SH_WAV) // 160 + 1
    with pytest.raises(ValueError, match="word_split 'halves': use one of letters, even"):
        tts_durations(alignment(list("shika"), SH_SPANS, 1.5), phones, SH_WAV, FRAMES16,
                      word_split="halves")


def test_bpe_pieces_spread_their_letters_over_their_stretch():
    pieces = ["\u2581shi", "ka"]  # two BPE pieces, emitted at 0.30 s and 0.90 s
    spans = [(0.30, 0.32), (0.90, 0.92)]
    d = tts_durations(alignment(pieces, spans, 1.5), ["ʃ", "i", "k", "a"], SH_WAV, FRAMES16)
    # "shi" runs from its emission (0.30 s) to the cut midway to "ka" (0.61 s), a third per
    # letter: ʃ (s h) ends at 0.507 s, i at 0.61 s; "ka" runs 0.61-0.92 s, k ends at 0.765 s
    assert np.cumsum(d.durations[:3]).tolist() == pytest.approx([51, 61, 76], abs=1)
    assert sum(d.durations) == len(SH_WAV) // 160 + 1
