"""metadata.tsv import on the shipped corpora, and every bad row reported with its line."""

from pathlib import Path

import pytest

from lrspeech.data.corpus import datadir_from_metadata, make_utt_id
from lrspeech.data.errors import DataDirError

HEADER = "id\taudio\ttext\tspeaker\tduration_s\tsplit\n"


def _tsv(tmp_path: Path, rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "metadata.tsv"
    path.write_text(header + rows, encoding="utf-8")
    return path


def test_swahili_train_and_val(test_data: Path, sw_rows: list) -> None:
    tsv = test_data / "sw" / "metadata.tsv"
    train = datadir_from_metadata(tsv, split="train")
    val = datadir_from_metadata(tsv, split="val")
    both = datadir_from_metadata(tsv, split=["train", "val"])
    assert (len(train.utt_ids), len(val.utt_ids), len(both.utt_ids)) == (10, 2, 12)
    assert train.speakers == ["sw_35d"]
    row = sw_rows[0]
    utt = f"sw_35d-{row['id']}"
    assert train.text[utt] == row["text"] == "Polisi walinikamata."
    assert train.wav_scp[utt] == row["audio"] and Path(row["audio"]).is_absolute()
    assert train.utt2dur[utt] == pytest.approx(3.267)


def test_speaker_prefix_keeps_speakers_together(test_data: Path) -> None:
    an4 = datadir_from_metadata(test_data / "en" / "an4" / "metadata.tsv")
    assert "mmap-an46-mmap-b" in an4.utt_ids
    order = [an4.utt2spk[u] for u in an4.utt_ids]
    runs = [s for i, s in enumerate(order) if i == 0 or order[i - 1] != s]
    assert len(runs) == len(set(order))  # each speaker is one contiguous run
    lj = datadir_from_metadata(test_data / "en" / "ljspeech32" / "metadata.tsv")
    assert "LJ001-0008" in lj.utt_ids  # already starts with its speaker


def test_make_utt_id() -> None:
    assert make_utt_id("spk", "u1") == "spk-u1"
    assert make_utt_id("spk", "spk_u1") == "spk_u1"


def test_text_only_and_quotes(tmp_path: Path) -> None:
    tsv = _tsv(tmp_path, 't1\t\t"Habari" yako\tsw\t\t\nt2\t\tasante\t\t\t\n')
    dd = datadir_from_metadata(tsv)
    assert dd.is_text_only
    assert dd.text == {"sw-t1": '"Habari" yako', "t2": "asante"}
    assert dd.utt2spk == {"sw-t1": "sw", "t2": "t2"} and dd.utt2dur == {}


def test_missing_columns(tmp_path: Path) -> None:
    tsv = _tsv(tmp_path, "a\tb\n", header="id\ttranscript\n")
    with pytest.raises(DataDirError) as err:
        datadir_from_metadata(tsv)
    assert f"{tsv}:1: header lacks the column(s) ['audio', 'text']" in str(err.value)
    assert "tab-separated" in str(err.value)


def test_bad_rows_named_by_line(tmp_path: Path) -> None:
    rows = (
        "u1\ta.flac\tok\ts\t1.5\ttrain\n"
        "u 2\ta.flac\tok\ts\t1.5\ttrain\n"
        "u3\ta.flac\tok\ts\tlong\ttrain\n"
        "u1\tb.flac\tagain\ts\t1.0\ttrain\n"
        "u5\t\tno audio\ts\t1.0\ttrain\n"
        "u6\ta.flac\tok\ts\n"
    )
    with pytest.raises(DataDirError) as err:
        datadir_from_metadata(_tsv(tmp_path, rows))
    lines = sorted(p.line for p in err.value)
    assert lines == [3, 4, 5, 6, 7]
    msg = str(err.value)
    assert "metadata.tsv:3: utterance 'u 2' has an empty id or one containing whitespace" in msg
    assert "metadata.tsv:4: utterance 'u3' has duration_s 'long', not a positive number" in msg
    assert "metadata.tsv:5: utterance 'u1' gives utterance id 's-u1' again (first on line 2)" in msg
    assert "metadata.tsv:6: utterance 's-u5' has an empty `audio` cell" in msg
    assert "metadata.tsv:7: utterance 'u6' has a different number of tab-separated cells" in msg


def test_split_needs_a_split_column(tmp_path: Path) -> None:
    tsv = _tsv(tmp_path, "u1\ta.flac\tok\n", header="id\taudio\ttext\n")
    with pytest.raises(DataDirError, match=r"metadata.tsv:1: has no `split` column"):
        datadir_from_metadata(tsv, split="train")
    assert datadir_from_metadata(tsv).wav_scp == {"u1": str(tmp_path / "a.flac")}
