"""Tests for lrspeech.models.speakers: spk2sid files, embeddings, name/target resolution."""

import numpy as np
import pytest

from lrspeech.models.speakers import (
    SpeakerError,
    SpeakerTable,
    mean_speaker_embeddings,
    read_speaker_embeddings,
    read_spk2sid,
    write_speaker_embeddings,
    write_spk2sid,
)

SPK2SID = {"<unk>": 0, "amina": 1, "baraka": 2}


def test_spk2sid_round_trip_sorted_by_name(tmp_path):
    path = write_spk2sid({"baraka": 1, "<unk>": 0, "amina": 2}, tmp_path / "spk2sid")
    assert path.read_text() == "<unk> 0\namina 2\nbaraka 1\n"
    assert read_spk2sid(path) == {"<unk>": 0, "amina": 2, "baraka": 1}


@pytest.mark.parametrize("content, message", [
    ("amina 1\nbaraka two\n", "spk2sid:2: speaker 'baraka' has value 'two', expected a sid"),
    ("amina 1\nbaraka\n", "spk2sid:2: speaker 'baraka' has no value after the id"),
    ("amina 1\namina 2\n", "spk2sid:2: speaker 'amina' is a duplicate id with a different"),
    ("amina 1\nbaraka 1\n", "speakers 'amina' and 'baraka' share sid 1"),
])
def test_bad_spk2sid_names_line_or_speakers(tmp_path, content, message):
    (tmp_path / "spk2sid").write_text(content)
    with pytest.raises(SpeakerError, match=message):
        read_spk2sid(tmp_path / "spk2sid")


def test_missing_spk2sid_says_where_to_get_it(tmp_path):
    with pytest.raises(SpeakerError, match="spk2sid not found; .*dump/<split>/spk2sid"):
        read_spk2sid(tmp_path / "spk2sid")


def test_resolve_name_and_target():
    table = SpeakerTable(SPK2SID, target="baraka")
    assert table.resolve("amina") == ("amina", 1)
    assert table.resolve("target") == ("baraka", 2)
    assert table.names == ["amina", "baraka"]  # <unk> is not a voice to offer


def test_unknown_speaker_lists_known_ones_and_target():
    table = SpeakerTable(SPK2SID, target="baraka", where="exp/tts/meta.json")
    with pytest.raises(SpeakerError) as err:
        table.resolve("zuhura")
    assert str(err.value) == ("exp/tts/meta.json: unknown speaker 'zuhura'; known speakers: "
                              "amina, baraka, or 'target' (= baraka)")


def test_target_without_recorded_target_is_an_error():
    with pytest.raises(SpeakerError, match="no target speaker recorded; .*known speakers: amina"):
        SpeakerTable(SPK2SID).resolve("target")


def test_target_must_be_a_known_speaker():
    with pytest.raises(SpeakerError, match="target speaker 'zuhura' is not a known speaker"):
        SpeakerTable(SPK2SID, target="zuhura")


def test_from_meta_reads_packed_meta():
    table = SpeakerTable.from_meta({"speakers": {"<unk>": 0, "amina": 1},
                                    "target_speaker": "amina"})
    assert table.resolve("target") == ("amina", 1)


def test_long_speaker_lists_are_shortened():
    many = {f"s{i:02d}": i for i in range(30)}
    with pytest.raises(SpeakerError, match=r"s19 and 10 more"):
        SpeakerTable(many).resolve("nobody")


def test_embeddings_round_trip_and_lookup(tmp_path):
    emb = {"amina": np.arange(4, dtype=np.float32), "baraka": np.ones(4, dtype=np.float32)}
    path = write_speaker_embeddings(emb, tmp_path / "spembs.npz")
    back = read_speaker_embeddings(path)
    np.testing.assert_array_equal(back["amina"], emb["amina"])
    table = SpeakerTable(SPK2SID, target="baraka", embeddings=back)
    np.testing.assert_array_equal(table.embedding("target"), np.ones(4))
    # an embedding-only speaker is a known voice without an id
    table = SpeakerTable({}, embeddings={"zuhura": np.zeros(4)})
    assert table.resolve("zuhura") == ("zuhura", None)


def test_speaker_without_embedding_is_named(tmp_path):
    table = SpeakerTable(SPK2SID, embeddings={"amina": np.zeros(2)})
    with pytest.raises(SpeakerError, match="speaker 'baraka' has no embedding .*: amina"):
        table.embedding("baraka")


def test_embeddings_of_different_sizes_are_refused(tmp_path):
    np.savez(tmp_path / "e.npz", a=np.zeros(3), b=np.zeros(4))
    with pytest.raises(SpeakerError, match=r"one size, got shapes \[\(3,\), \(4,\)\]"):
        read_speaker_embeddings(tmp_path / "e.npz")


def test_mean_speaker_embeddings():
    utt2spk = {"u1": "a", "u2": "a", "u3": "b"}
    utt2emb = {"u1": np.array([1.0, 3.0]), "u2": np.array([3.0, 5.0]), "u3": np.array([0.0, 1.0])}
    means = mean_speaker_embeddings(utt2spk, utt2emb)
    np.testing.assert_allclose(means["a"], [2.0, 4.0])
    np.testing.assert_allclose(means["b"], [0.0, 1.0])
    with pytest.raises(SpeakerError, match="utterance 'u3' of speaker 'b' has no embedding"):
        mean_speaker_embeddings(utt2spk, {"u1": np.zeros(2), "u2": np.zeros(2)})
