"""LRSpeech data setting from a metadata.tsv corpus: sizes, withheld transcripts, seeds."""

import lzma
from pathlib import Path

import pytest

from lrspeech.data.datadir import DataDir
from lrspeech.data.lr_setting import build_setting


@pytest.fixture()
def bible(tmp_path: Path) -> Path:
    path = tmp_path / "text.tsv.xz"
    with lzma.open(path, "wt", encoding="utf-8") as f:
        f.write("v1\tHapo mwanzo kulikuwako Neno.\nv2\t\nv3\tNaye Neno alikuwa kwa Mungu.\n")
    return path


def test_setting_withholds_unpaired_transcripts(
    tmp_path: Path, test_data: Path, bible: Path
) -> None:
    sizes = build_setting(test_data / "sw" / "metadata.tsv", bible, 4, tmp_path / "data", seed=1)
    assert sizes == {"paired_hq": 4, "unpaired_speech": 6, "unpaired_text": 2, "dev": 2}
    unpaired = DataDir.load(tmp_path / "data" / "unpaired_speech")
    assert unpaired.is_speech_only and not (tmp_path / "data" / "unpaired_speech" / "text").exists()
    paired = DataDir.load(tmp_path / "data" / "paired_hq")
    assert not set(paired.utt_ids) & set(unpaired.utt_ids)
    again = build_setting(test_data / "sw" / "metadata.tsv", bible, 4, tmp_path / "again", seed=1)
    assert again == sizes
    assert DataDir.load(tmp_path / "again" / "paired_hq").utt_ids == paired.utt_ids


def test_too_many_paired_is_a_clear_error(tmp_path: Path, test_data: Path, bible: Path) -> None:
    with pytest.raises(ValueError, match=r"has 10 train utterances.*lower --n_paired"):
        build_setting(test_data / "sw" / "metadata.tsv", bible, 10, tmp_path / "d")


def test_paired_chosen_among_short_clips(tmp_path: Path, test_data: Path, bible: Path) -> None:
    meta = test_data / "sw" / "metadata.tsv"
    rows = [ln.split("\t") for ln in meta.read_text(encoding="utf-8").splitlines()[1:]]
    train = sorted(float(r[4]) for r in rows if r[5] == "train")
    limit = train[3]  # four train clips are at most this long (the fifth is longer)
    assert train[4] > limit
    build_setting(meta, bible, 4, tmp_path / "d", max_paired_dur=limit)
    paired = DataDir.load(tmp_path / "d" / "paired_hq")
    assert len(paired.utt_ids) == 4 and max(paired.utt2dur.values()) <= limit
    with pytest.raises(ValueError,
                       match=r"has 4 train utterances of at most .*raise --max_paired_dur"):
        build_setting(meta, bible, 5, tmp_path / "e", max_paired_dur=limit)


def test_durations_missing_from_metadata_are_measured(
    tmp_path: Path, test_data: Path, bible: Path
) -> None:
    meta = test_data / "sw" / "metadata.tsv"
    lines = meta.read_text(encoding="utf-8").splitlines()
    rows = [ln.split("\t") for ln in lines[1:]]
    blank = tmp_path / "metadata.tsv"  # duration_s left empty, audio paths absolute
    blank.write_text("\n".join([lines[0]] + [
        "\t".join([r[0], str(test_data / "sw" / r[1]), r[2], r[3], "", r[5]]) for r in rows
    ]) + "\n", encoding="utf-8")
    limit = sorted(float(r[4]) for r in rows if r[5] == "train")[3]
    build_setting(blank, bible, 4, tmp_path / "d", max_paired_dur=limit + 0.01)
    paired = DataDir.load(tmp_path / "d" / "paired_hq")
    short = {f"{r[3]}-{r[0]}" for r in rows if r[5] == "train" and float(r[4]) <= limit}
    assert set(paired.utt_ids) == short  # ids carry the speaker prefix
