"""DataDir on real clips: properties, atomic save/load round trips, file-level load errors."""

from pathlib import Path

import pytest

from lrspeech.data.corpus import datadir_from_metadata
from lrspeech.data.datadir import DataDir, Segment
from lrspeech.data.errors import BAD_VALUE, DataDirError


@pytest.fixture()
def an4(test_data: Path) -> DataDir:
    return datadir_from_metadata(test_data / "en" / "an4" / "metadata.tsv")


def test_properties_of_a_multi_speaker_dir(an4: DataDir) -> None:
    assert an4.kind == "paired" and not an4.is_text_only and not an4.is_speech_only
    assert not an4.has_segments
    assert an4.utt_ids == sorted(an4.wav_scp) and len(an4.utt_ids) == 10
    assert an4.speakers == sorted(set(an4.utt2spk.values()))
    spk2utt = an4.spk2utt
    assert sorted(u for utts in spk2utt.values() for u in utts) == an4.utt_ids
    assert all(an4.utt2spk[u] == s for s, utts in spk2utt.items() for u in utts)
    assert an4.audio_of(an4.utt_ids[0]) == (an4.wav_scp[an4.utt_ids[0]], 0.0, None)


def test_round_trip_writes_sorted_kaldi_files(an4: DataDir, tmp_path: Path) -> None:
    an4.save(tmp_path / "d")
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == [
        "spk2utt", "text", "utt2dur", "utt2spk", "wav.scp"]
    back = DataDir.load(tmp_path / "d")
    assert back == an4 and back.path == tmp_path / "d"
    keys = [line.split()[0] for line in (tmp_path / "d" / "text").read_text().splitlines()]
    assert keys == sorted(keys) == an4.utt_ids
    spk_lines = (tmp_path / "d" / "spk2utt").read_text().splitlines()
    assert spk_lines == [f"{s} {' '.join(u)}" for s, u in sorted(an4.spk2utt.items())]


def test_text_only_and_speech_only_dirs(tmp_path: Path) -> None:
    text_only = DataDir(text={"t2": "asante  sana", "t1": "habari yako"})
    text_only.save(tmp_path / "txt")
    assert sorted(p.name for p in (tmp_path / "txt").iterdir()) == ["text"]
    back = DataDir.load(tmp_path / "txt")
    assert back.is_text_only and back.kind == "text-only" and back.text["t2"] == "asante  sana"
    speech = DataDir(wav_scp={"s1": "/x/a.flac", "s2": "sox b.wav -t wav - |"})
    speech.save(tmp_path / "sp")
    back = DataDir.load(tmp_path / "sp")
    assert back.is_speech_only and back.wav_scp["s2"] == "sox b.wav -t wav - |"


def test_segments_round_trip_and_audio_of(tmp_path: Path) -> None:
    dd = DataDir(
        wav_scp={"rec1": "/a/rec1.wav"},
        text={"rec1-u1": "a", "rec1-u2": "b c"},
        segments={"rec1-u1": Segment("rec1", 0.0, 1.25), "rec1-u2": Segment("rec1", 1.5, 3.0)},
        utt2lang={"rec1-u1": "sw", "rec1-u2": "sw"},
    )
    dd.save(tmp_path / "d")
    assert (tmp_path / "d" / "segments").read_text() == (
        "rec1-u1 rec1 0.0 1.25\nrec1-u2 rec1 1.5 3.0\n")
    back = DataDir.load(tmp_path / "d")
    assert back == dd and back.has_segments
    assert back.utt_ids == ["rec1-u1", "rec1-u2"] and back.audio_utt_ids == back.utt_ids
    assert back.audio_of("rec1-u2") == ("/a/rec1.wav", 1.5, 3.0)
    assert back.segments["rec1-u2"].duration == pytest.approx(1.5)


def test_odd_ids_and_spaces_survive(tmp_path: Path) -> None:
    dd = DataDir(text={"spk/1:utt#2.ñ": "neno  moja,  mawili ", "a": "x"})
    dd.save(tmp_path / "d")
    assert DataDir.load(tmp_path / "d").text["spk/1:utt#2.ñ"] == "neno  moja,  mawili"


def test_utt2spk_derived_from_spk2utt(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "text").write_text("u1 a\nu2 b\n")
    (d / "spk2utt").write_text("s1 u1 u2\n")
    assert DataDir.load(d).utt2spk == {"u1": "s1", "u2": "s1"}


def test_save_replaces_atomically_keeping_backup(an4: DataDir, tmp_path: Path) -> None:
    d = tmp_path / "d"
    DataDir(wav_scp={"r": "/r.wav"}, text={"u": "x"},
            segments={"u": Segment("r", 0, 1)}).save(d)
    (d / ".backup").mkdir()
    an4.save(d)
    assert not (d / "segments").exists()  # stale files lrspeech manages are not kept
    assert (d / ".backup").is_dir()
    assert DataDir.load(d) == an4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d"]


def test_empty_dir_is_not_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="refusing to write an empty data dir"):
        DataDir().save(tmp_path / "d")
    assert not (tmp_path / "d").exists()


def test_load_errors_name_the_path_and_fix(tmp_path: Path) -> None:
    with pytest.raises(DataDirError, match=r"nope: is not a directory; create it"):
        DataDir.load(tmp_path / "nope")
    (tmp_path / "e").mkdir()
    (tmp_path / "e" / "utt2spk").write_text("u s\n")
    with pytest.raises(DataDirError, match=r"e: has neither wav.scp nor text; write wav.scp"):
        DataDir.load(tmp_path / "e")


def test_malformed_values_are_reported_with_lines(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "wav.scp").write_text("r1 /a.wav\n")
    (d / "text").write_text("u1 a\nu2 b\nu3 c\n")
    (d / "segments").write_text("u1 r1 0 1\nu2 r1 2 1\nu3 r1 x\n")
    (d / "utt2dur").write_text("u1 1.0\nu2 abc\nu3 -2\n")
    (d / "utt2spk").write_text("u1 s1\nu2 s1 s2\nu3\n")
    dd, problems = DataDir.read(d)
    assert all(p.kind == BAD_VALUE for p in problems)
    where = sorted((Path(p.file).name, p.line) for p in problems)
    assert where == [("segments", 2), ("segments", 3), ("utt2dur", 2), ("utt2dur", 3),
                     ("utt2spk", 2), ("utt2spk", 3)]
    assert dd.segments == {"u1": Segment("r1", 0.0, 1.0)} and dd.utt2dur == {"u1": 1.0}
    msgs = {(Path(p.file).name, p.line): str(p) for p in problems}
    assert "empty or negative range 2.0..1.0 s" in msgs[("segments", 2)]
    assert "utils/compute_utt2dur.sh" in msgs[("utt2dur", 2)]
    assert "got 2 fields" in msgs[("utt2spk", 2)] and "got nothing" in msgs[("utt2spk", 3)]
    with pytest.raises(DataDirError, match=r"6 problems found"):
        DataDir.load(d)


def test_wav_scp_keys_are_recordings_with_segments(tmp_path: Path) -> None:
    d = tmp_path / "d"
    d.mkdir()
    (d / "wav.scp").write_text("r2 /b.wav\nr1 /a.wav\n")
    (d / "segments").write_text("u1 r1 0 1\n")
    (p,) = DataDir.read(d)[1]
    assert str(p).startswith(f"{d}/wav.scp:2: recording 'r1' is out of order")
