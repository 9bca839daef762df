"""Tests for lrspeech.pipeline.segment: cutting long recordings at aligned word pauses."""

from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest
import soundfile as sf

from lrspeech.data.audio import load_audio
from lrspeech.data.datadir import DataDir
from lrspeech.data.validate import validate_data_dir
from lrspeech.pipeline.segment import (
    SegmentConfig,
    WordTime,
    plan_pieces,
    read_ctm,
    segment_data_dir,
    split_at_pauses,
)

PAUSE_S = 0.4


def words_with_pauses(n: int, word_s: float, pause_every: int, pause_s: float) -> List[WordTime]:
    """n words of word_s seconds, back to back except a pause after every pause_every words."""
    out, t = [], 0.2
    for i in range(n):
        out.append(WordTime(f"w{i}", t, t + word_s))
        t += word_s + (pause_s if (i + 1) % pause_every == 0 else 0.0)
    return out


def test_pieces_lie_in_range_and_cut_only_at_pauses():
    words = words_with_pauses(40, 0.35, 4, 0.3)
    duration = words[-1].end + 0.3
    cfg = SegmentConfig(min_len=1.0, max_len=6.0, min_pause=0.15)
    pieces = plan_pieces(words, duration, cfg)
    assert [p.first for p in pieces] == [0] + [p.last for p in pieces[:-1]]
    assert pieces[-1].last == 40
    for p in pieces:
        assert 1.0 <= p.duration <= 6.0
        if p.first > 0:
            assert words[p.first].start - words[p.first - 1].end >= 0.15
    starts = [p.start for p in pieces]
    assert starts == sorted(starts) and pieces[0].start >= 0 and pieces[-1].end <= duration
    for a, b in zip(pieces[:-1], pieces[1:]):
        assert a.end <= b.start


def test_short_recordings_stay_whole_and_unbreakable_stretches_are_left_out():
    words = words_with_pauses(5, 0.5, 10, 0.0)
    whole = plan_pieces(words, 3.0, SegmentConfig())
    assert len(whole) == 1 and (whole[0].start, whole[0].end) == (0.0, 3.0)
    long_words = words_with_pauses(30, 0.5, 100, 0.0)  # 15 s without a pause
    pieces = plan_pieces(long_words, 15.5, SegmentConfig())
    assert len(pieces) == 1 and pieces[0].duration > 6.0


def test_bad_lengths_and_ctm_lines_are_errors(tmp_path):
    with pytest.raises(ValueError, match="need 0 < min_len < max_len, got 6.0, 1.0"):
        SegmentConfig(min_len=6.0, max_len=1.0)
    ctm = tmp_path / "ctm"
    ctm.write_text("u1 1 0.00 0.50 habari\nu1 1 0.5 x\n")
    with pytest.raises(ValueError, match=r"ctm:2: expected 'utt channel start duration word'"):
        read_ctm(ctm)
    ctm.write_text("u1 1 0.50 -0.1 habari\n")
    with pytest.raises(ValueError, match=r"ctm:1: utterance 'u1' has a negative duration"):
        read_ctm(ctm)


@pytest.fixture
def long_recording(tmp_path, sw_rows) -> Dict[str, object]:
    """Four real Swahili clips joined with 0.4 s of silence into one recording + its ctm."""
    rows = sorted(sw_rows, key=lambda r: float(r["duration_s"]))[:4]
    parts, words, t = [], [], 0.0
    for row in rows:
        wav, sr = load_audio(row["audio"])
        text = row["text"].rstrip(".").split()
        step = len(wav) / sr / len(text)
        words += [WordTime(w, t + i * step, t + (i + 1) * step) for i, w in enumerate(text)]
        parts += [wav, np.zeros(int(PAUSE_S * sr), dtype=np.float32)]
        t += len(wav) / sr + PAUSE_S
    audio = tmp_path / "long.wav"
    sf.write(audio, np.concatenate(parts), sr)
    data = tmp_path / "data"
    data.mkdir()
    (data / "wav.scp").write_text(f"rec1 {audio}\n")
    (data / "text").write_text("rec1 " + " ".join(w.word for w in words) + "\n")
    (data / "utt2spk").write_text("rec1 sw_35d\n")
    ctm = tmp_path / "ctm"
    ctm.write_text("".join(f"rec1 1 {w.start:.3f} {w.end - w.start:.3f} {w.word}\n" for w in words))
    return {"data": data, "ctm": ctm, "words": words, "duration": t, "joins": len(rows) - 1}


def test_segmented_dir_validates_and_covers_what_it_claims(tmp_path, long_recording):
    out = tmp_path / "seg"
    cfg = SegmentConfig(min_len=1.0, max_len=6.0, min_pause=0.3)
    report = segment_data_dir(long_recording["data"], long_recording["ctm"], out, cfg)
    validate_data_dir(out)
    dd = DataDir.load(out)
    assert report.segments == len(dd.segments) >= 2 and not report.too_long
    assert set(dd.wav_scp) == {"rec1"}
    in_order = sorted(dd.segments, key=lambda u: dd.segments[u].start)
    all_words = " ".join(w.word for w in long_recording["words"])
    assert " ".join(dd.text[u] for u in in_order) == all_words
    for utt, seg in dd.segments.items():
        assert 1.0 <= seg.duration <= 6.0 and seg.end <= long_recording["duration"] + 1e-6
        wav, sr = load_audio(*dd.audio_of(utt)[:1], start=seg.start, end=seg.end)
        assert len(wav) / sr == pytest.approx(seg.duration, abs=1e-3)
        assert dd.utt2spk[utt] == "sw_35d"
        words = [w for w in long_recording["words"] if seg.start <= w.start < seg.end]
        assert dd.text[utt] == " ".join(w.word for w in words)
    kept = sum(s.duration for s in dd.segments.values())
    assert report.summary()["kept_s"] == pytest.approx(kept, abs=0.01)


def test_segments_of_a_segmented_dir_point_into_its_recordings(tmp_path, long_recording):
    first = tmp_path / "seg1"
    segment_data_dir(long_recording["data"], long_recording["ctm"], first,
                     SegmentConfig(min_len=1.0, max_len=8.0, min_pause=0.3))
    dd = DataDir.load(first)
    utt = sorted(dd.segments, key=lambda u: dd.segments[u].start)[1]
    seg = dd.segments[utt]
    ctm = tmp_path / "ctm2"
    ctm.write_text(f"{utt} 1 0.10 0.50 a\n{utt} 1 1.10 0.50 b\n")
    second = tmp_path / "seg2"
    report = segment_data_dir(first, ctm, second, SegmentConfig(min_len=0.3, max_len=1.0,
                                                                min_pause=0.3))
    out = DataDir.load(second)
    assert report.not_aligned and utt not in report.not_aligned
    starts = sorted(s.start - seg.start for s in out.segments.values())
    assert starts == pytest.approx([0.0, 1.0], abs=1e-6)  # 0.1 s of edge before "b"
    assert all(s.recording == "rec1" for s in out.segments.values())


def test_nothing_aligned_is_an_error(tmp_path, long_recording):
    ctm = tmp_path / "empty"
    ctm.write_text("")
    with pytest.raises(ValueError, match="no segment left"):
        segment_data_dir(long_recording["data"], ctm, tmp_path / "seg")
    assert not (tmp_path / "seg").exists()


def test_ctm_is_read_in_time_order(tmp_path):
    ctm = tmp_path / "ctm"
    ctm.write_text("u1 1 1.0 0.5 b 0.9\nu1 1 0.0 0.5 a\n")
    assert read_ctm(Path(ctm)) == {"u1": [WordTime("a", 0.0, 0.5), WordTime("b", 1.0, 1.5)]}


def speech_only(tmp_path: Path, long_recording: Dict[str, object], sw_rows) -> Path:
    """The joined recording plus one short real clip, without transcripts (unpaired speech)."""
    data = tmp_path / "unpaired"
    data.mkdir()
    short = sorted(sw_rows, key=lambda r: float(r["duration_s"]))[5]
    wav_scp = (long_recording["data"] / "wav.scp").read_text()
    (data / "wav.scp").write_text(wav_scp + f"short1 {short['audio']}\n")
    (data / "utt2spk").write_text("rec1 sw_35d\nshort1 sw_35d\n")
    return data


def test_split_at_pauses_cuts_long_speech_in_the_silences(tmp_path, long_recording, sw_rows):
    data = speech_only(tmp_path, long_recording, sw_rows)
    total = long_recording["duration"]
    max_len = 0.6 * total  # the recording must be cut at least once
    cfg = SegmentConfig(min_len=1.0, max_len=max_len, min_pause=0.3)
    report = split_at_pauses(data, tmp_path / "split", cfg)
    validate_data_dir(tmp_path / "split")
    dd = DataDir.load(tmp_path / "split")
    assert not dd.text and not (tmp_path / "split" / "text").exists()
    long_pieces = sorted((s for s in dd.segments.values() if s.recording == "rec1"),
                         key=lambda s: s.start)
    assert len(long_pieces) >= 2 and report.segments == len(dd.segments)
    assert all(1.0 <= s.duration <= max_len for s in long_pieces)
    # Every cut lies in one of the 0.4 s silences that join the clips.
    words = long_recording["words"]
    joins = [(a.end, b.start) for a, b in zip(words, words[1:]) if b.start - a.end > 0.3]
    assert len(joins) == long_recording["joins"]
    for a, b in zip(long_pieces, long_pieces[1:]):
        assert any(lo - 0.05 <= a.end and b.start <= hi + 0.05 for lo, hi in joins), (a, b)
    # Most of the recording is kept; the short clip stays whole.
    assert sum(s.duration for s in long_pieces) >= 0.85 * total
    short = [u for u, s in dd.segments.items() if s.recording == "short1"]
    assert len(short) == 1 and dd.segments[short[0]].start == 0.0
    assert dd.utt2spk[short[0]] == "sw_35d"


def test_split_at_pauses_refuses_transcribed_dirs(tmp_path, long_recording):
    with pytest.raises(ValueError, match=r"data/text: the dir has transcripts.*--ctm"):
        split_at_pauses(long_recording["data"], tmp_path / "split")
