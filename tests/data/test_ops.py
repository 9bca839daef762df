"""combine / subset / split / filter / compute_utt2dur on the real shipped clips."""

import copy
from pathlib import Path

import pytest
import soundfile as sf

from lrspeech.data import ops
from lrspeech.data.audio import pipe_spec
from lrspeech.data.corpus import datadir_from_metadata
from lrspeech.data.datadir import DataDir, Segment
from lrspeech.data.errors import DataDirError


@pytest.fixture()
def an4(test_data: Path) -> DataDir:
    return datadir_from_metadata(test_data / "en" / "an4" / "metadata.tsv")


@pytest.fixture()
def sw(test_data: Path) -> DataDir:
    return datadir_from_metadata(test_data / "sw" / "metadata.tsv")


def test_combine(an4: DataDir, sw: DataDir) -> None:
    before = copy.deepcopy(an4)
    both = ops.combine([an4, sw])
    assert an4 == before  # inputs untouched
    assert both.utt_ids == sorted(an4.utt_ids + sw.utt_ids)
    assert both.speakers == sorted(set(an4.speakers) | {"sw_35d"})
    assert both.utt2dur == {**an4.utt2dur, **sw.utt2dur}


def test_combine_drops_files_not_all_have(an4: DataDir, sw: DataDir) -> None:
    an4.utt2lang = {u: "en" for u in an4.utt_ids}
    both = ops.combine([an4, sw])
    assert both.utt2lang == {} and len(both.utt2dur) == 22


def test_combine_refuses_duplicates_and_mixed_kinds(an4: DataDir) -> None:
    an4.path = Path("data/an4")
    other = ops.subset_by_ids(an4, an4.utt_ids[:2])
    with pytest.raises(DataDirError) as err:
        ops.combine([an4, other])
    assert len(err.value) == 2
    first = an4.utt_ids[0]
    assert f"utterance '{first}' is also in data/an4; make the ids unique" in str(err.value)
    text_only = DataDir(text={"t1": "hello"}, path=Path("data/txt"))
    with pytest.raises(DataDirError, match=r"mixes dirs of different kinds: data/an4 \(paired\), "
                                           r"data/txt \(text-only\)"):
        ops.combine([an4, text_only])


def test_combine_gives_segments_to_plain_dirs(sw: DataDir) -> None:
    seg = DataDir(wav_scp={"long": "/x/long.wav"}, text={"long-1": "a"},
                  segments={"long-1": Segment("long", 0.5, 2.0)}, utt2dur={"long-1": 1.5})
    both = ops.combine([sw, seg])
    u = sw.utt_ids[0]
    assert both.segments[u] == Segment(u, 0.0, sw.utt2dur[u])
    assert both.audio_of(u) == (sw.wav_scp[u], 0.0, sw.utt2dur[u])
    sw.utt2dur = {}
    with pytest.raises(DataDirError, match="has no segments and no utt2dur.*compute_utt2dur"):
        ops.combine([sw, seg])


def test_subset_by_ids(an4: DataDir) -> None:
    ids = an4.utt_ids[2:5]
    sub = ops.subset_by_ids(an4, ids + ["nobody"], strict=False)
    assert sub.utt_ids == ids and set(sub.wav_scp) == set(ids) and set(sub.text) == set(ids)
    assert set(sub.utt2spk) == set(sub.utt2dur) == set(ids)
    with pytest.raises(DataDirError, match=r"utterance 'nobody' is not in the dir; correct"):
        ops.subset_by_ids(an4, ids + ["nobody"])


def test_subset_random_is_seeded_and_stable(an4: DataDir) -> None:
    a = ops.subset_random(an4, 4, seed=0)
    assert a == ops.subset_random(an4, 4, seed=0)
    # SHA-256 ranking: the same pick on every machine and Python version
    assert a.utt_ids == ["mcfl-an265-mcfl-b", "mmxg-an443-mmxg-b", "msrb-an333-msrb-b",
                         "mtos-an369-mtos-b"]
    assert ops.subset_random(an4, 4, seed=1).utt_ids != a.utt_ids
    grown = ops.combine([an4, DataDir(wav_scp={"zz-new": "/n.wav"}, text={"zz-new": "x"},
                                      utt2spk={"zz-new": "zz"}, utt2dur={"zz-new": 1.0})])
    ranked = ops.seeded_order(grown.utt_ids, 0)
    assert [u for u in ranked if u != "zz-new"] == ops.seeded_order(an4.utt_ids, 0)
    with pytest.raises(ValueError, match=r"cannot pick 11 of its 10 utterances; ask for 1..10"):
        ops.subset_random(an4, 11)


def test_subset_by_speakers(an4: DataDir) -> None:
    spk = an4.speakers[:2]
    sub = ops.subset_by_speakers(an4, spk)
    assert sub.speakers == spk
    assert sub.utt_ids == sorted(u for u, s in an4.utt2spk.items() if s in spk)
    with pytest.raises(DataDirError, match=r"speaker 'ghost' is not a speaker of the dir"):
        ops.subset_by_speakers(an4, ["ghost"])


def test_split_n(an4: DataDir) -> None:
    parts = ops.split_n(an4, 3)
    assert [len(p.utt_ids) for p in parts] == [4, 3, 3]
    assert sum((p.utt_ids for p in parts), []) == an4.utt_ids  # contiguous, complete, disjoint
    with pytest.raises(ValueError, match=r"cannot split 10 utterances into 11 parts"):
        ops.split_n(an4, 11)


def test_split_n_by_speaker(an4: DataDir) -> None:
    parts = ops.split_n(an4, 3, by_speaker=True)
    assert sum((p.utt_ids for p in parts), []) == an4.utt_ids
    seen = [set(p.speakers) for p in parts]
    assert all(not (a & b) for i, a in enumerate(seen) for b in seen[i + 1:])
    skewed = DataDir(text={f"{s}-{i}": "x" for s, k in (("a", 1), ("b", 1), ("c", 8))
                           for i in range(k)})
    skewed.utt2spk = {u: u.split("-")[0] for u in skewed.text}
    assert [p.speakers for p in ops.split_n(skewed, 3, by_speaker=True)] == [["a"], ["b"], ["c"]]
    assert [len(p.utt_ids) for p in ops.split_n(skewed, 2, by_speaker=True)] == [2, 8]
    with pytest.raises(ValueError, match=r"3 speakers cannot fill 4 parts; use at most 3"):
        ops.split_n(skewed, 4, by_speaker=True)


def test_split_share(sw: DataDir) -> None:
    train, dev = ops.split_share(sw, 0.25, seed=3)
    assert len(dev.utt_ids) == 3 and len(train.utt_ids) == 9
    assert set(train.utt_ids) | set(dev.utt_ids) == set(sw.utt_ids)
    assert not set(train.utt_ids) & set(dev.utt_ids)
    assert ops.split_share(sw, 0.25, seed=3)[1] == dev
    assert ops.split_share(sw, 0.25, seed=4)[1] != dev
    with pytest.raises(ValueError, match=r"a dev share of 0.01 of 12 utterances gives 0 dev"):
        ops.split_share(sw, 0.01)


def test_compute_utt2dur(sw: DataDir, sw_rows: list) -> None:
    measured = ops.compute_utt2dur(sw.copy(utt2dur={}))
    for row in sw_rows:
        u = f"sw_35d-{row['id']}"
        assert measured.utt2dur[u] == pytest.approx(float(row["duration_s"]), abs=2e-3)
        assert measured.utt2dur[u] == sf.info(row["audio"]).frames / 16000


def test_compute_utt2dur_pipes_segments_and_errors(sw_rows: list) -> None:
    path = sw_rows[0]["audio"]
    piped = DataDir(wav_scp={"p": pipe_spec("cat", path), "f": path})
    durs = ops.compute_utt2dur(piped).utt2dur
    assert durs["p"] == durs["f"] == sf.info(path).frames / 16000
    seg = DataDir(wav_scp={"r": path}, segments={"u": Segment("r", 0.25, 1.0)})
    assert ops.compute_utt2dur(seg).utt2dur == {"u": 0.75}
    broken = DataDir(wav_scp={"gone": "/no/such.flac"}, path=Path("data/x"))
    with pytest.raises(DataDirError, match=r"data/x/wav.scp: utterance 'gone' audio /no/such.flac"
                                           r" audio file does not exist"):
        ops.compute_utt2dur(broken)
    with pytest.raises(DataDirError, match=r"has no wav.scp; durations need audio"):
        ops.compute_utt2dur(DataDir(text={"t": "x"}))
