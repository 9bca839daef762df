"""Tests for lrspeech.pipeline.align: CTC Viterbi, ASR tokens, pauses, real-clip alignment."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from lrspeech.data.audio import load_audio
from lrspeech.pipeline.align import (
    AlignmentError,
    CtcAligner,
    WordSpan,
    ctc_viterbi,
    layout_words,
    load_speech2text,
    longest_run,
    min_ctc_frames,
    silence_mask,
    to_asr_tokens,
    word_index,
)
from lrspeech.pipeline.durations import TtsFrames, tts_durations

TESTS = Path(__file__).resolve().parents[1]


def models_conftest():
    """The micro-model builders of tests/models/conftest.py (not visible as fixtures here)."""
    spec = importlib.util.spec_from_file_location(
        "models_conftest_builders", TESTS / "models" / "conftest.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def asr_exp(tmp_path_factory, sw_rows, an4_rows) -> Path:
    """A micro char CTC/attention ASR exp dir, shared by the alignment tests of this session."""
    builders = models_conftest()
    rows = builders.split_rows(sw_rows, an4_rows)
    root = tmp_path_factory.getbasetemp() / "ctc_align_micro_asr"
    return builders.build_micro_asr(root, rows["train"], rows["valid"]).exp_dir


@pytest.fixture(scope="session")
def aligner(asr_exp) -> CtcAligner:
    return CtcAligner.from_model(asr_exp)


def posteriorgram(states, n_labels, p_true=0.7, seed=0):
    """Log posteriors where each frame's true label has probability p_true, others share."""
    rng = np.random.default_rng(seed)
    probs = rng.uniform(0.5, 1.0, (len(states), n_labels))
    for t, label in enumerate(states):
        probs[t, label] = 0.0
        probs[t] *= (1 - p_true) / probs[t].sum()
        probs[t, label] = p_true
    return np.log(probs)


# ---------------------------------------------------------------- Viterbi


def test_viterbi_recovers_known_path_with_repeats_and_blanks():
    targets = [3, 1, 1, 2]
    frames = [0, 3, 3, 0, 1, 0, 1, 1, 2, 0]  # labels per frame, 0 = blank
    expected = [-1, 0, 0, -1, 1, -1, 2, 2, 3, -1]
    log_probs = posteriorgram(frames, 5)
    path = ctc_viterbi(log_probs, targets, blank=0)
    assert path.token_index.tolist() == expected
    on_path = sum(log_probs[t, lab] for t, lab in enumerate(frames))
    assert path.log_prob == pytest.approx(on_path)
    assert path.score == pytest.approx(on_path / len(frames))
    assert path.spans(4) == [(1, 3), (4, 5), (6, 8), (8, 9)]


def test_viterbi_goes_straight_between_different_tokens():
    frames = [2, 2, 4, 1, 1, 1]
    path = ctc_viterbi(posteriorgram(frames, 5, seed=1), [2, 4, 1])
    assert path.token_index.tolist() == [0, 0, 1, 2, 2, 2]


def test_repeated_tokens_need_a_blank_between_them():
    assert min_ctc_frames([1, 1, 2, 2, 2]) == 8
    with pytest.raises(AlignmentError, match=r"2 ASR frames cannot hold 2 tokens \(needs 3\)"):
        ctc_viterbi(np.log(np.full((2, 3), 1 / 3)), [1, 1])
    path = ctc_viterbi(np.log(np.full((3, 3), 1 / 3)), [1, 1])
    assert path.token_index.tolist() == [0, -1, 1]


def test_empty_transcript_is_an_error():
    with pytest.raises(AlignmentError, match="empty transcript"):
        ctc_viterbi(np.zeros((4, 3)), [])


# ---------------------------------------------------------------- tokens and words


def test_unknown_tokens_become_unk_or_are_dropped():
    token_list = ["<blank>", "<unk>", "a", "b", "<space>", "<sos/eos>"]
    out = to_asr_tokens(["a", "ß", "<space>", "b"], token_list, "unk")
    assert out.tokens == ["a", "<unk>", "<space>", "b"] and out.ids == [2, 1, 4, 3]
    assert out.unk == ["ß"] and out.dropped == []
    dropped = to_asr_tokens(["a", "ß", "b"], token_list, "drop")
    assert dropped.tokens == ["a", "b"] and dropped.dropped == ["ß"]
    no_unk = to_asr_tokens(["a", "ß"], ["<blank>", "a", "<sos/eos>"], "unk")
    assert no_unk.tokens == ["a"] and no_unk.dropped == ["ß"]
    with pytest.raises(ValueError, match="unk_policy must be 'unk' or 'drop'"):
        to_asr_tokens(["a"], token_list, "keep")


def test_word_index_for_chars_and_sentencepiece():
    assert word_index(["h", "i", "<space>", "y", "o"]) == [0, 0, -1, 1, 1]
    assert word_index(["\u2581he", "llo", "\u2581w", "orld"]) == [0, 0, 1, 1]
    assert word_index(["hello", "world"], each_token_a_word=True) == [0, 1]


# ---------------------------------------------------------------- pauses


def bursts(sr, pattern, seed=0):
    """Noise-like 'speech' (True) and near-silence (False) pieces of given seconds."""
    rng = np.random.default_rng(seed)
    parts = [
        rng.normal(0, 0.3 if loud else 0.001, int(sec * sr)).astype(np.float32)
        for loud, sec in pattern
    ]
    return np.concatenate(parts)


def test_silence_mask_finds_the_quiet_part():
    wav = bursts(16000, [(True, 0.5), (False, 0.3), (True, 0.5)])
    mask = silence_mask(wav, 160)
    assert len(mask) == len(wav) // 160 + 1
    assert not mask[5:45].any()
    assert mask[55:75].all()
    assert longest_run(mask, 0, len(mask)) == pytest.approx((51, 80), abs=2)


def test_layout_gives_gap_frames_to_words_and_pauses():
    silent = np.zeros(100, dtype=bool)
    silent[:10] = True  # leading silence
    silent[40:55] = True  # a pause between word 0 and 1
    silent[90:] = True  # trailing silence
    spans = [WordSpan("a", 0.12, 0.20), WordSpan("b", 0.60, 0.62), WordSpan("c", 0.70, 0.72)]
    layout = layout_words(spans, 100, 0.01, silent, min_pause_frames=5)
    assert layout.pauses[0] == (0, 10)
    assert layout.words[0] == (10, 40)  # sounding frames after the emission join word 0
    assert layout.pauses[1] == (40, 55)
    assert layout.words[1] == (55, 66) and layout.pauses[2] == (66, 66)  # no pause: midway
    assert layout.words[2] == (66, 90) and layout.pauses[3] == (90, 100)
    edges = [layout.pauses[0][0]]
    for pause, word in zip(layout.pauses[1:], layout.words):
        assert word[0] <= word[1] == pause[0] <= pause[1]
        edges.append(pause[1])
    assert edges[-1] == 100


# ---------------------------------------------------------------- a real ASR and real clips


def test_alignment_of_a_real_clip_keeps_order_and_fills_the_frames(aligner, sw_rows):
    assert aligner.frame_shift == pytest.approx(0.04)  # 10 ms hop x conv2d subsampling 4
    row = sw_rows[0]
    wav, _ = load_audio(row["audio"], aligner.sample_rate)
    alignment = aligner.align(row["id"], wav, text="polisi walinikamata")
    assert alignment.tokens == aligner.tokenize("polisi walinikamata")
    starts = [a for a, _ in alignment.spans]
    assert starts == sorted(starts)
    assert all(0 <= a < b <= alignment.duration + 1e-6 for a, b in alignment.spans)
    for (_, end), (start, _) in zip(alignment.spans[:-1], alignment.spans[1:]):
        assert end <= start
    assert -50 < alignment.score <= 0
    assert [w.word for w in alignment.word_spans()] == ["polisi", "walinikamata"]
    frames = TtsFrames(16000, 256)
    durs = tts_durations(alignment, alignment.tokens, wav, frames)
    assert sum(durs.durations) == len(wav) // 256 + 1
    assert len(durs.durations) == len(alignment.tokens) + 1
    assert min(durs.durations[:-1]) >= 0


def test_audio_too_short_for_its_transcript_is_reported(aligner, sw_rows):
    row = sw_rows[0]
    wav, _ = load_audio(row["audio"], aligner.sample_rate, end=0.3)
    with pytest.raises(AlignmentError, match=rf"utterance '{row['id']}' \(0.30 s\).*too short"):
        aligner.align(row["id"], wav, text="hakuna uhuru wa kujieleza kukusanyika na elimu")


def test_tokens_the_asr_cannot_emit_are_reported(aligner, sw_rows):
    row = sw_rows[0]
    wav, _ = load_audio(row["audio"], aligner.sample_rate)
    alignment = aligner.align(row["id"], wav, text="polisi \u00df walinikamata")
    assert alignment.unk == ["\u00df"]
    assert "<unk>" in alignment.tokens
    nothing = CtcAligner(aligner.s2t, unk_policy="drop")
    with pytest.raises(AlignmentError, match="no token of its transcript can be emitted"):
        nothing.align(row["id"], wav, text="\u00df\u00df")


def test_long_audio_is_encoded_in_windows(aligner, sw_rows):
    wav, _ = load_audio(sw_rows[5]["audio"], aligner.sample_rate)
    whole = aligner.log_posteriors(wav)
    windowed = CtcAligner(aligner.s2t, chunk_s=1.5, context_s=0.5).log_posteriors(wav)
    assert abs(len(windowed) - len(whole)) <= 2
    assert windowed.shape[1] == whole.shape[1]


def test_unknown_model_dir_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="neither a packed model dir"):
        load_speech2text(tmp_path)


def test_a_packed_model_dir_aligns_like_its_exp_dir(aligner, asr_exp, tmp_path, sw_rows):
    from lrspeech.models.packing import pack_model

    packed = CtcAligner.from_model(pack_model(asr_exp, None, tmp_path / "pack"))
    assert packed.frame_shift == pytest.approx(0.04) and packed.sample_rate == 16000
    wav, _ = load_audio(sw_rows[1]["audio"], 16000)
    np.testing.assert_allclose(packed.log_posteriors(wav), aligner.log_posteriors(wav), atol=1e-4)


def test_an_asr_without_ctc_or_raw_audio_input_is_refused():
    from types import SimpleNamespace

    no_ctc = SimpleNamespace(asr_model=SimpleNamespace(ctc=None, frontend=object()))
    with pytest.raises(ValueError, match="has no CTC branch; train it with ctc_weight > 0"):
        CtcAligner(no_ctc)
    no_frontend = SimpleNamespace(asr_model=SimpleNamespace(ctc=object(), frontend=None))
    with pytest.raises(ValueError, match="reads precomputed features; a raw-audio ASR"):
        CtcAligner(no_frontend)
