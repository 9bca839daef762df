"""Pseudo pairs: seeded text samples per voice, ASR-labelled speech, real/synthetic mixes."""

from pathlib import Path

import pytest

from lrspeech.data.corpus import datadir_from_metadata
from lrspeech.data.datadir import DataDir
from lrspeech.pipeline.pseudo import asr_pairs, mix, sample_text


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
