"""Validation on a real Swahili dir: each bad input yields a message naming file, line/id, fix."""

import shutil
from pathlib import Path
from typing import List

import numpy as np
import pytest
import soundfile as sf

from lrspeech.data.audio import write_wav
from lrspeech.data.corpus import datadir_from_metadata
from lrspeech.data.datadir import DataDir, Segment
from lrspeech.data.errors import (
    CONFLICT,
    EMPTY_AUDIO,
    EMPTY_TEXT,
    ENCODING,
    MISSING_AUDIO,
    NOT_IN_AUDIO,
    NOT_IN_FILE,
    NOT_IN_TEXT,
    SAMPLE_RATE,
    SEGMENT_RANGE,
    SPK_MISMATCH,
    STRAY_RECORDING,
    UNKNOWN_RECORDING,
    UNREADABLE_AUDIO,
    UNSORTED,
    DataDirError,
    Problem,
)
from lrspeech.data.validate import find_problems, validate_data_dir


@pytest.fixture()
def sw_dir(tmp_path: Path, test_data: Path) -> Path:
    datadir_from_metadata(test_data / "sw" / "metadata.tsv", split="train").save(tmp_path / "sw")
    return tmp_path / "sw"


def _lines(path: Path) -> List[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _set_line(path: Path, lineno: int, text: str) -> str:
    """Replace line `lineno` (1-based) of a file; return the id of the old line."""
    lines = _lines(path)
    old_id = lines[lineno - 1].split()[0]
    lines[lineno - 1] = text
    path.write_text("".join(lines), encoding="utf-8")
    return old_id


def _only(path: Path, kind: str, **kw: object) -> Problem:
    problems = [p for p in find_problems(path, **kw)[1] if p.kind == kind]
    assert len(problems) == 1, problems
    return problems[0]


def test_valid_dirs_pass(sw_dir: Path, tmp_path: Path) -> None:
    dd = validate_data_dir(sw_dir, expected_sr=16000, expected_kind="paired")
    assert dd.kind == "paired" and len(dd.utt_ids) == 10
    DataDir(text={"t1": "habari", "t2": "asante"}).save(tmp_path / "txt")
    assert validate_data_dir(tmp_path / "txt", expected_kind="text-only").is_text_only
    speech = DataDir.load(sw_dir).copy(text={})
    speech.save(tmp_path / "sp")
    assert validate_data_dir(tmp_path / "sp", expected_kind="speech-only").is_speech_only


def test_missing_audio_file(sw_dir: Path) -> None:
    utt = _set_line(sw_dir / "wav.scp", 3, "")
    _set_line(sw_dir / "wav.scp", 3, f"{utt} /no/such/{utt}.flac\n")
    p = _only(sw_dir, MISSING_AUDIO)
    assert str(p).startswith(f"{sw_dir}/wav.scp:3: utterance '{utt}' audio /no/such/")
    assert "audio file does not exist; correct the path in wav.scp" in str(p)
    assert "utils/fix_data_dir.sh" in str(p)


@pytest.mark.parametrize("damage, message", [
    ("garbage", "cannot be read as audio"),
    ("truncated_flac", "is truncated or corrupt"),
    ("truncated_wav", "is truncated: header announces"),
    ("empty", "has no samples (zero-length audio)"),
])
def test_broken_audio(sw_dir: Path, tmp_path: Path, damage: str, message: str) -> None:
    dd = DataDir.load(sw_dir)
    utt = dd.utt_ids[4]
    bad = tmp_path / f"{damage}.{'wav' if 'wav' in damage or damage == 'empty' else 'flac'}"
    if damage == "garbage":
        bad.write_bytes(b"fLaC\x00\x00garbage")
    elif damage == "truncated_flac":
        data = Path(dd.wav_scp[utt]).read_bytes()
        bad.write_bytes(data[: len(data) // 3])
    elif damage == "truncated_wav":
        x, sr = sf.read(dd.wav_scp[utt], dtype="float32")
        write_wav(bad, x, sr)
        data = bad.read_bytes()
        bad.write_bytes(data[: len(data) - 1000])
    else:
        sf.write(bad, np.zeros(0, dtype=np.float32), 16000, subtype="PCM_16")
    dd.wav_scp[utt] = str(bad)
    dd.save(sw_dir)
    kind = EMPTY_AUDIO if damage == "empty" else UNREADABLE_AUDIO
    p = _only(sw_dir, kind)
    assert str(p).startswith(f"{sw_dir}/wav.scp:5: utterance '{utt}' audio {bad} {message}")
    assert "fix_data_dir" in p.fix


def test_empty_transcript(sw_dir: Path) -> None:
    utt = _set_line(sw_dir / "text", 2, "")
    _set_line(sw_dir / "text", 2, f"{utt}   \n")
    p = _only(sw_dir, EMPTY_TEXT)
    assert str(p) == (f"{sw_dir}/text:2: utterance '{utt}' has an empty transcript; "
                      "write its transcript or run utils/fix_data_dir.sh to drop it")


def test_duplicate_ids(sw_dir: Path) -> None:
    lines = _lines(sw_dir / "text")
    utt = lines[3].split()[0]
    lines.insert(4, f"{utt} maneno mengine\n")
    (sw_dir / "text").write_text("".join(lines))
    p = _only(sw_dir, CONFLICT)
    assert str(p).startswith(f"{sw_dir}/text:5: utterance '{utt}' is a duplicate id with a "
                             "different value than on line 4")
    assert "fix_data_dir.sh drops the id" in str(p)


def test_unsorted_file(sw_dir: Path) -> None:
    lines = _lines(sw_dir / "utt2spk")
    lines[1], lines[6] = lines[6], lines[1]
    (sw_dir / "utt2spk").write_text("".join(lines))
    p = _only(sw_dir, UNSORTED)
    assert str(p).startswith(f"{sw_dir}/utt2spk:3: utterance '{lines[2].split()[0]}' is out "
                             f"of order: it comes after '{lines[1].split()[0]}' (line 2)")
    assert "C-locale byte order; sort it with `LC_ALL=C sort -k1,1" in str(p)


def test_spk2utt_mismatch(sw_dir: Path) -> None:
    utts = DataDir.load(sw_dir).utt_ids
    (sw_dir / "spk2utt").write_text(f"sw_35d {' '.join(utts[1:])} ghost\n")
    p = _only(sw_dir, SPK_MISMATCH)
    assert str(p) == (f"{sw_dir}/spk2utt:1: speaker 'sw_35d' lists 'ghost' that utt2spk does "
                      f"not map to it and misses '{utts[0]}' that utt2spk maps to it; "
                      "regenerate spk2utt from utt2spk with utils/fix_data_dir.sh")


def test_text_without_audio_and_audio_without_text(sw_dir: Path) -> None:
    lines = _lines(sw_dir / "text")
    only_text = "sw_35d-zz_extra"
    no_text = lines[0].split()[0]
    (sw_dir / "text").write_text("".join(lines[1:] + [f"{only_text} neno\n"]))
    p = _only(sw_dir, NOT_IN_AUDIO)
    assert str(p) == (f"{sw_dir}/text:10: utterance '{only_text}' has no audio in wav.scp; "
                      "add it to wav.scp or run utils/fix_data_dir.sh to drop it")
    q = _only(sw_dir, NOT_IN_TEXT)
    assert str(q) == (f"{sw_dir}/wav.scp:1: utterance '{no_text}' has no transcript in text; "
                      "add it to text or run utils/fix_data_dir.sh to drop it")


def test_non_utf8_text(sw_dir: Path) -> None:
    raw = (sw_dir / "text").read_bytes().split(b"\n")
    offset = sum(len(line) + 1 for line in raw[:6]) + len(raw[6].split(b" ")[0]) + 1
    raw[6] = raw[6].split(b" ")[0] + b" caf\xe9"
    (sw_dir / "text").write_bytes(b"\n".join(raw))
    p = _only(sw_dir, ENCODING)
    assert str(p).startswith(f"{sw_dir}/text:7: utterance '{raw[6].split()[0].decode()}' is not "
                             f"valid UTF-8: byte 0xe9 at byte offset {offset + 3} of the file")
    assert "re-encode the file as UTF-8" in str(p)


def test_unexpected_sample_rate(sw_dir: Path) -> None:
    problems = find_problems(sw_dir, expected_sr=22050)[1]
    assert len(problems) == 10 and {p.kind for p in problems} == {SAMPLE_RATE}
    assert str(problems[0]).startswith(f"{sw_dir}/wav.scp:1: utterance ")
    assert "has sample rate 16000 Hz, expected 22050; resample it to 22050 Hz" in str(problems[0])
    assert find_problems(sw_dir)[1] == []  # no rate stated: no rate checked


def test_all_problems_in_one_error(sw_dir: Path) -> None:
    _set_line(sw_dir / "text", 2, _lines(sw_dir / "text")[1].split()[0] + "\n")  # empty text
    _set_line(sw_dir / "utt2dur", 3, _lines(sw_dir / "utt2dur")[2].split()[0] + " 0\n")
    lines = _lines(sw_dir / "utt2spk")
    (sw_dir / "utt2spk").write_text("".join(lines[:-1]))
    with pytest.raises(DataDirError) as err:
        validate_data_dir(sw_dir, expected_sr=8000)
    kinds = sorted(p.kind for p in err.value)
    assert kinds.count(SAMPLE_RATE) == 10
    assert {EMPTY_TEXT, EMPTY_AUDIO, NOT_IN_FILE, SPK_MISMATCH} <= set(kinds)
    assert len(err.value) == 14
    text = str(err.value)
    assert text.startswith("14 problems found:")
    assert f"{sw_dir}/utt2dur:3: utterance" in text and "has duration 0.0 s" in text
    missing = lines[-1].split()[0]
    assert f"{sw_dir}/wav.scp:10: utterance '{missing}' is missing from utt2spk" in text


def test_more_than_twenty_problems_are_counted(sw_dir: Path) -> None:
    ids_only = "".join(f"{line.split()[0]}\n" for line in _lines(sw_dir / "text"))
    (sw_dir / "text").write_text(ids_only)
    with pytest.raises(DataDirError) as err:
        validate_data_dir(sw_dir, expected_sr=8000)
    assert len(err.value) == 20
    dd = DataDir.load(sw_dir)
    dd.text["zz_more"] = ""
    dd.save(sw_dir)
    with pytest.raises(DataDirError) as err:
        validate_data_dir(sw_dir, expected_sr=8000)
    assert len(err.value) == 22 and str(err.value).splitlines()[-1].strip() == "... and 2 more"


def test_expected_kind(sw_dir: Path) -> None:
    with pytest.raises(DataDirError, match=r"is a paired dir but a text-only dir is needed; "
                                           r"give it text without wav.scp"):
        validate_data_dir(sw_dir, expected_kind="text-only")


def test_segments_checks(sw_dir: Path, sw_rows: list) -> None:
    audio = sw_rows[0]["audio"]
    dd = DataDir(
        wav_scp={"recA": audio, "recB": audio},
        text={"recA-1": "a", "recA-2": "b", "recC-1": "c"},
        segments={"recA-1": Segment("recA", 0.0, 1.0), "recA-2": Segment("recA", 1.0, 9.0),
                  "recC-1": Segment("recC", 0.0, 1.0)},
    )
    shutil.rmtree(sw_dir)
    dd.save(sw_dir)
    _, problems = find_problems(sw_dir)
    got = {p.kind: str(p) for p in problems}
    assert set(got) == {SEGMENT_RANGE, UNKNOWN_RECORDING, STRAY_RECORDING}
    assert got[SEGMENT_RANGE].startswith(f"{sw_dir}/segments:2: utterance 'recA-2' ends at 9.0 s, "
                                         "after its recording (3.267 s)")
    assert got[UNKNOWN_RECORDING].startswith(f"{sw_dir}/segments:3: utterance 'recC-1' points to "
                                             "recording 'recC', which is not in wav.scp")
    assert got[STRAY_RECORDING].startswith(f"{sw_dir}/wav.scp:2: recording 'recB' is used by no")


def test_audio_check_levels(sw_dir: Path, tmp_path: Path) -> None:
    dd = DataDir.load(sw_dir)
    utt = dd.utt_ids[0]
    data = Path(dd.wav_scp[utt]).read_bytes()
    (tmp_path / "t.flac").write_bytes(data[: len(data) // 2])
    dd.wav_scp[utt] = str(tmp_path / "t.flac")
    dd.wav_scp[dd.utt_ids[1]] = str(tmp_path / "gone.flac")
    dd.save(sw_dir)
    kinds = {level: sorted(p.kind for p in find_problems(sw_dir, audio_check=level)[1])
             for level in ("none", "header", "full")}
    assert kinds["none"] == kinds["header"] == [MISSING_AUDIO]
    assert kinds["full"] == [MISSING_AUDIO, UNREADABLE_AUDIO]
    with pytest.raises(ValueError, match="audio_check must be one of"):
        find_problems(sw_dir, audio_check="some")
