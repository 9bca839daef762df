"""fix_data_dir on a broken copy of the real Swahili dir: drops, reasons, backup, clean result."""

from pathlib import Path
from typing import Dict

import pytest

from lrspeech.data.corpus import datadir_from_metadata
from lrspeech.data.datadir import DataDir, Segment
from lrspeech.data.errors import DataDirError
from lrspeech.data.fix import fix_data_dir
from lrspeech.data.validate import find_problems, validate_data_dir


@pytest.fixture()
def sw_dir(tmp_path: Path, test_data: Path) -> Path:
    datadir_from_metadata(test_data / "sw" / "metadata.tsv", split="train").save(tmp_path / "sw")
    return tmp_path / "sw"


def _snapshot(d: Path) -> Dict[str, bytes]:
    return {p.name: p.read_bytes() for p in d.iterdir() if p.is_file()}


def _break(d: Path) -> Dict[str, str]:
    """Damage the dir in several ways; return utt id -> expected reason fragment."""
    dd = DataDir.load(d)
    u = dd.utt_ids
    wav = dict(dd.wav_scp)
    wav[u[0]] = "/no/such/file.flac"
    text = dict(dd.text)
    text[u[1]] = ""
    del text[u[2]]
    text["sw_35d-zz_only_text"] = "neno"
    lines = []
    for utt in sorted(text, reverse=True):  # unsorted on purpose
        lines.append(f"{utt} {text[utt]}\n")
        if utt == u[3]:
            lines.append(f"{utt} a conflicting transcript\n")
    (d / "text").write_text("".join(lines), encoding="utf-8")
    (d / "wav.scp").write_text("".join(f"{k} {v}\n" for k, v in sorted(wav.items())))
    (d / "spk2utt").write_text("sw_35d " + " ".join(u[5:]) + "\n")
    return {
        u[0]: "audio file does not exist",
        u[1]: "has an empty transcript",
        u[2]: "has no transcript in text",
        u[3]: "duplicate id with a different value",
        "sw_35d-zz_only_text": "has no audio in wav.scp",
    }


def test_fix_drops_reports_and_backs_up(sw_dir: Path) -> None:
    expected = _break(sw_dir)
    before = _snapshot(sw_dir)
    report = fix_data_dir(sw_dir)
    assert set(report.dropped) == set(expected)
    for utt, fragment in expected.items():
        assert fragment in report.dropped[utt], (utt, report.dropped[utt])
    assert report.dropped[next(iter(expected))].startswith(f"{sw_dir}/wav.scp:1: ")
    assert report.kept == 6 and report.changed
    assert any("out of order" in r for r in report.repaired)
    assert any("spk2utt" in r for r in report.repaired)
    # the old files are kept byte for byte, with the list of dropped ids
    assert report.backup is not None and report.backup.parent == sw_dir / ".backup"
    backed = _snapshot(report.backup)
    assert {k: v for k, v in backed.items() if k != "dropped.tsv"} == before
    dropped_tsv = backed["dropped.tsv"].decode().splitlines()
    assert [line.split("\t")[0] for line in dropped_tsv] == sorted(expected)
    # the new dir is valid, sorted, and spk2utt matches utt2spk
    fixed = validate_data_dir(sw_dir)
    assert len(fixed.utt_ids) == 6 and not set(expected) & set(fixed.utt_ids)
    assert (sw_dir / "spk2utt").read_text() == f"sw_35d {' '.join(fixed.utt_ids)}\n"
    assert not [p for p in sw_dir.parent.iterdir() if p.name.startswith(".sw.")]


def test_second_fix_changes_nothing(sw_dir: Path) -> None:
    _break(sw_dir)
    fix_data_dir(sw_dir)
    after_first = _snapshot(sw_dir)
    report = fix_data_dir(sw_dir)
    assert not report.changed and report.dropped == {} and report.backup is None
    assert _snapshot(sw_dir) == after_first
    assert len(list((sw_dir / ".backup").iterdir())) == 1
    assert report.summary() == f"{sw_dir}: nothing to fix (6 utterances)"


def test_non_utf8_line_is_dropped_with_its_reason(sw_dir: Path) -> None:
    raw = (sw_dir / "text").read_bytes().split(b"\n")
    utt = raw[2].split(b" ")[0].decode()
    raw[2] = raw[2] + b" \xff"
    (sw_dir / "text").write_bytes(b"\n".join(raw))
    report = fix_data_dir(sw_dir)
    assert list(report.dropped) == [utt]
    assert "text:3: is not valid UTF-8: byte 0xff" in report.dropped[utt]
    assert find_problems(sw_dir)[1] == []


def test_recording_problems_drop_all_its_segments(tmp_path: Path, sw_rows: list) -> None:
    d = tmp_path / "seg"
    DataDir(
        wav_scp={"good": sw_rows[0]["audio"], "lost": "/no/such.flac"},
        text={"good-1": "a", "lost-1": "b", "lost-2": "c"},
        segments={"good-1": Segment("good", 0, 1), "lost-1": Segment("lost", 0, 1),
                  "lost-2": Segment("lost", 1, 2)},
    ).save(d)
    report = fix_data_dir(d)
    assert sorted(report.dropped) == ["lost-1", "lost-2"]
    assert "wav.scp:2: audio /no/such.flac audio file does not exist" in report.dropped["lost-1"]
    fixed = DataDir.load(d)
    assert fixed.wav_scp == {"good": sw_rows[0]["audio"]} and fixed.utt_ids == ["good-1"]


def test_sample_rate_drops_only_when_asked(sw_dir: Path) -> None:
    assert not fix_data_dir(sw_dir).changed
    with pytest.raises(DataDirError, match="would lose every utterance, so nothing was changed"):
        fix_data_dir(sw_dir, expected_sr=22050)
    assert not (sw_dir / ".backup").exists()
    assert len(DataDir.load(sw_dir).utt_ids) == 10
