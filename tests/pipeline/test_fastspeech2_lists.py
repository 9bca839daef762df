"""lrspeech.pipeline.fastspeech2_lists: the lists hold the utterances with fitting durations;
the others are left out and counted, never fatal unless nothing is left."""

import json
from pathlib import Path

import pytest
import soundfile as sf

from lrspeech.data.datadir import DataDir, Segment
from lrspeech.data.skips import Skips
from lrspeech.errors import InputError
from lrspeech.pipeline.duration_files import (
    read_durations,
    write_durations,
    write_frames,
    write_token_file,
)
from lrspeech.pipeline.durations import TtsFrames, split_frames
from lrspeech.pipeline.fastspeech2_lists import write_fastspeech2_lists

REPO = Path(__file__).resolve().parents[2]


def write_align_dir(path: Path, rows, frames: TtsFrames, broken=(), left_out=()) -> None:
    """An align dir as ctc_align writes it, with uniform durations that fit the audio."""
    path.mkdir(parents=True)
    durations, tokens = {}, {}
    for row in rows:
        toks = list(row["text"].lower().replace(" ", "_").strip("."))
        toks = ["<space>" if t == "_" else t for t in toks]
        n = frames.n_frames(sf.info(row["audio"]).frames)
        d = split_frames(n, [1.0] * (len(toks) + 1))
        if row["id"] in broken:
            d[0] += 1
        durations[row["id"]], tokens[row["id"]] = d, toks
    write_durations(path / "durations", durations)
    write_token_file(path / "tokens", tokens)
    write_frames(path / "frames.yaml", frames)
    skips = Skips()
    for utt in left_out:
        skips.add(utt, "low_score", "score -3.000 < threshold -0.300")
    skips.write(path / "skipped.json")


def data_of(rows) -> DataDir:
    return DataDir(wav_scp={r["id"]: r["audio"] for r in rows},
                   text={r["id"]: r["text"] for r in rows},
                   utt2spk={r["id"]: r["speaker"] for r in rows})


def test_lists_keep_fitting_durations_and_count_the_rest(tmp_path, sw_rows, an4_rows):
    rows = sorted(sw_rows[:4] + an4_rows[:2], key=lambda r: r["id"])
    ids = [r["id"] for r in rows]
    write_align_dir(tmp_path / "align", [r for r in rows if r["id"] != ids[1]],
                    TtsFrames(16000, 256), broken=(ids[2],), left_out=(ids[1],))
    report = write_fastspeech2_lists(data_of(rows), tmp_path / "align", tmp_path / "lists")
    assert report.kept == [ids[0], *ids[3:]]
    assert report.left_out.reasons == {ids[1]: "no_durations", ids[2]: "durations_mismatch"}
    assert "low_score" in report.left_out.details[ids[1]]  # ctc_align's reason, said again
    # ... but counted once: the lists' own skip record leaves ctc_align's skips to its record
    assert report.by_alignment == {ids[1]}
    assert report.own_skips.reasons == {ids[2]: "durations_mismatch"}
    assert report.own_skips.details[ids[2]] == report.left_out.details[ids[2]]
    assert "durations sum to" in report.left_out.details[ids[2]]
    lists = tmp_path / "lists"
    durations = read_durations(lists / "durations")
    assert sorted(durations) == report.kept
    texts = dict(line.split(maxsplit=1) for line in (lists / "text").read_text().splitlines())
    for utt, d in durations.items():
        assert len(d) == len(texts[utt].split()) + 1
    spk2sid = dict(line.split() for line in (lists / "spk2sid").read_text().splitlines())
    assert spk2sid["<unk>"] == "0" and len(spk2sid) == 4  # sw_35d + 2 an4 speakers + <unk>
    summary = report.summary()
    assert summary["kept"] == 4 and summary["left_out_counts"] == {
        "durations_mismatch": 1, "no_durations": 1}
    json.dumps(summary)


def test_pitch_and_energy_come_with_a_tts_config(tmp_path, sw_rows):
    rows = sw_rows[:2]
    write_align_dir(tmp_path / "align", rows, TtsFrames(16000, 256))
    config = REPO / "conf" / "tts" / "fastspeech2_tiny.yaml"
    write_fastspeech2_lists(data_of(rows), tmp_path / "align", tmp_path / "lists",
                            with_sids=False, tts_config=config)
    for name in ("pitch", "energy"):
        scp = (tmp_path / "lists" / f"{name}.scp").read_text().splitlines()
        assert sorted(line.split()[0] for line in scp) == sorted(r["id"] for r in rows)
    assert not (tmp_path / "lists" / "utt2sid").exists()


def test_durations_on_another_grid_or_rate_are_refused(tmp_path, sw_rows):
    rows = sw_rows[:2]
    write_align_dir(tmp_path / "align", rows, TtsFrames(22050, 256))
    with pytest.raises(InputError, match=r"no utterance .* is left for FastSpeech2 .*"
                       r"durations_mismatch 2.*audio is 16000 Hz but the durations are for "
                       r"22050 Hz"):
        write_fastspeech2_lists(data_of(rows), tmp_path / "align", tmp_path / "lists")
    assert not (tmp_path / "lists").exists()
    config = REPO / "conf" / "tts" / "fastspeech2_tiny.yaml"
    with pytest.raises(InputError, match=r"counted at 22050 Hz, hop 256, but .*tiny.yaml reads "
                       r"16000 Hz, hop 256; rerun lrspeech.bin.ctc_align"):
        write_fastspeech2_lists(data_of(rows), tmp_path / "align", tmp_path / "lists",
                                tts_config=config)


def test_lists_need_cut_segments(tmp_path, sw_rows):
    write_align_dir(tmp_path / "align", sw_rows[:1], TtsFrames(16000, 256))
    dd = data_of(sw_rows[:1]).copy(segments={"s1": Segment(sw_rows[0]["id"], 0.0, 1.0)},
                                   text={"s1": "a"}, utt2spk={"s1": "x"})
    with pytest.raises(InputError, match="segments: FastSpeech2 lists need one audio file"):
        write_fastspeech2_lists(dd, tmp_path / "align", tmp_path / "lists")
