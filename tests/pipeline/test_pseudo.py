"""Pseudo pairs: seeded text samples per voice, ASR-labelled speech, real/synthetic mixes."""

from pathlib import Path

import pytest

from lrspeech.data.corpus import datadir_from_metadata
from lrspeech.data.datadir import DataDir
from lrspeech.pipeline.pseudo import (
    asr_pairs,
    label_filter,
    mix,
    pairs_threshold,
    sample_text,
    share_threshold,
)


@pytest.fixture()
def text_dir(tmp_path: Path) -> Path:
    DataDir(text={f"t{i:03d}": f"sentensi namba {i}" for i in range(40)}).save(tmp_path / "txt")
    return tmp_path / "txt"


def test_sample_text_is_seeded_and_split_over_voices(text_dir: Path) -> None:
    a = sample_text(text_dir, 9, seed=3, speakers=["v1", "v2", "v3"])
    b = sample_text(text_dir, 9, seed=3, speakers=["v1", "v2", "v3"])
    c = sample_text(text_dir, 9, seed=4, speakers=["v1", "v2", "v3"])
    assert a.text == b.text and a.text != c.text
    assert sorted(a.spk2utt) == ["v1", "v2", "v3"]
    assert all(len(u) == 3 for u in a.spk2utt.values())
    assert all(utt.startswith(spk + "-") for utt, spk in a.utt2spk.items())


def test_asr_pairs_drop_empty_and_low_score(tmp_path: Path, test_data: Path) -> None:
    speech = datadir_from_metadata(test_data / "sw" / "metadata.tsv", split="train")
    speech.text = {}
    speech.save(tmp_path / "speech")
    utts = speech.audio_utt_ids
    hyp = {utts[0]: "habari", utts[1]: "", utts[2]: "low score", utts[3]: "sawa"}
    (tmp_path / "hyp").mkdir()
    (tmp_path / "hyp" / "text").write_text("".join(f"{u} {t}\n" for u, t in sorted(hyp.items())))
    (tmp_path / "hyp" / "score").write_text(
        f"{utts[0]} -0.1\n{utts[1]} -0.2\n{utts[2]} -5.0\n{utts[3]} -0.3\n"
    )
    out = asr_pairs(tmp_path / "speech", tmp_path / "hyp", min_score=-1.0)
    assert out.text == {utts[0]: "habari", utts[3]: "sawa"}
    assert sorted(out.wav_scp) == sorted([utts[0], utts[3]])


def test_mix_sets_the_synthetic_share(test_data: Path) -> None:
    real = datadir_from_metadata(test_data / "sw" / "metadata.tsv", split="train")  # 10 utts
    synth = datadir_from_metadata(test_data / "en" / "an4" / "metadata.tsv")  # 10 utts
    out = mix([real], synth, ratio=1 / 3, seed=1)
    n_synth = sum(1 for u in out.audio_utt_ids if u in set(synth.audio_utt_ids))
    assert len(out.audio_utt_ids) == 15 and n_synth == 5
    with pytest.raises(ValueError, match=r"ratio 1.0 must be in \[0, 1\)"):
        mix([real], synth, ratio=1.0, seed=1)


def write_hyps(path: Path, hyps: dict, scores: dict) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "text").write_text("".join(f"{u} {t}\n" for u, t in sorted(hyps.items())))
    (path / "score").write_text("".join(f"{u} {s}\n" for u, s in sorted(scores.items())))
    return path


def test_share_threshold_keeps_the_best_scored_share() -> None:
    scores = [-0.1, -0.5, -0.2, -0.9]
    assert share_threshold(scores, 1.0) is None
    assert share_threshold(scores, 0.5) == -0.2
    assert share_threshold(scores, 0.6) == -0.5  # ceil(2.4) = 3 kept
    assert share_threshold(scores, 0.01) == -0.1  # at least one
    with pytest.raises(ValueError, match=r"keep_share must be in \(0, 1\]"):
        share_threshold(scores, 0.0)


def test_keep_share_and_its_measure_on_dev(tmp_path: Path, test_data: Path) -> None:
    """The best half of the unpaired labels is kept; on dev the same threshold keeps the
    labels scored at or above it, and their CER is that of those labels alone."""
    speech = datadir_from_metadata(test_data / "sw" / "metadata.tsv", split="train")
    speech.text = {}
    speech.save(tmp_path / "speech")
    utts = speech.audio_utt_ids[:4]
    hyp = write_hyps(tmp_path / "hyp", {u: "habari" for u in utts},
                     dict(zip(utts, (-0.1, -0.4, -0.2, -0.3))))
    assert pairs_threshold(tmp_path / "speech", hyp, keep_share=0.5) == -0.2
    with pytest.raises(ValueError, match="not both"):
        pairs_threshold(tmp_path / "speech", hyp, min_score=-1.0, keep_share=0.5)
    pairs = asr_pairs(tmp_path / "speech", hyp, keep_share=0.5)
    assert sorted(pairs.text) == sorted([utts[0], utts[2]])
    dev = DataDir(text={"d1": "habari yako", "d2": "sawa sawa", "d3": "asante"})
    dev.save(tmp_path / "dev")
    dev_hyp = write_hyps(tmp_path / "dev_hyp", {"d1": "habari yako", "d2": "xxxx xxxx",
                                                "d3": "asante"},
                         {"d1": -0.15, "d2": -0.35, "d3": -0.2})
    measured = label_filter(-0.2, pairs, hyp, tmp_path / "dev", dev_hyp)
    assert (measured.kept, measured.total, measured.dev_kept, measured.dev_total) == (2, 4, 2, 3)
    assert measured.dev_cer_kept == 0.0  # d1 and d3 are right; d2 (wrong) is below -0.2
    assert measured.dev_cer_all == pytest.approx(8 / (11 + 9 + 6))  # 8 of 26 chars
    assert "labels kept 2/4 (50%" in measured.summary() and "label CER 0.0%" in measured.summary()
    everything = label_filter(None, asr_pairs(tmp_path / "speech", hyp), hyp, tmp_path / "dev",
                              dev_hyp)
    assert everything.dev_kept == 3 and everything.dev_cer_kept == everything.dev_cer_all
