"""Tests for lrspeech.models.synthesis: synthesize real text dirs with a packed micro
multi-speaker Transformer-TTS: speakers, attention and durations, teacher forcing, failed
clips, Griffin-Lim, speaker embeddings."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lrspeech.data.datadir import DataDir
from lrspeech.models.jobs import InferenceError
from lrspeech.models.packing import PackError, pack_model, read_meta
from lrspeech.models.speakers import SpeakerError
from lrspeech.models.synthesis import TtsOptions, most_diagonal_head, synthesize_text_dir

LANG_YAML = ("language: test\niso: sw\nespeak_voice: none\ntoken_type: char\n"
             "punctuation: strip\nnumber_normalizer: none\n")
TARGET = "sw_35d"
# Untrained decoders stop at random: bound the length so tests are fast and never near-empty
# (at least 3 frames per token, 0.1 s even for a 4-letter word).
FAST = dict(minlenratio=3.0, maxlenratio=3.5)


def write_text_dir(path: Path, lines: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "text").write_text(lines, encoding="utf-8")
    return path


def kaldi(path: Path) -> dict:
    return dict(line.split(" ", 1) if " " in line else (line, "")
                for line in path.read_text().splitlines())


def test_most_diagonal_head_picks_the_focused_one():
    flat = np.full((4, 4), 0.25)
    sharp = np.eye(4)
    att = np.stack([np.stack([flat, flat]), np.stack([flat, sharp])])  # layers x heads
    np.testing.assert_array_equal(most_diagonal_head(att), sharp)


def synth(packed_tts, text_dir, out, **kw):
    options = TtsOptions(**{"vocoder": None, **FAST, **kw})
    return synthesize_text_dir(packed_tts, text_dir, out, options)


def test_two_speakers_give_different_speech_same_speaker_the_same(packed_tts, tmp_path):
    text = write_text_dir(tmp_path / "text", "u1 hali yako\n")
    a = synth(packed_tts, text, tmp_path / "a", speaker="mmap")
    b = synth(packed_tts, text, tmp_path / "b", speaker="fsaf2")
    again = synth(packed_tts, text, tmp_path / "again", speaker="mmap")
    fa, fb = (np.load(r.records[0].feats) for r in (a, b))
    n = min(len(fa), len(fb))
    assert np.abs(fa[:n] - fb[:n]).mean() > 1e-3
    np.testing.assert_array_equal(fa, np.load(again.records[0].feats))
    assert kaldi(tmp_path / "a" / "utt2spk") == {"u1": "mmap"}


def test_target_speaker_is_resolved_from_meta(packed_tts, tmp_path):
    text = write_text_dir(tmp_path / "text", "u1 hali\n")
    target = synth(packed_tts, text, tmp_path / "t", speaker="target")
    named = synth(packed_tts, text, tmp_path / "n", speaker=TARGET)
    assert target.speaker == TARGET == read_meta(packed_tts)["target_speaker"]
    assert kaldi(tmp_path / "t" / "utt2spk") == {"u1": TARGET}
    np.testing.assert_array_equal(np.load(target.records[0].feats),
                                  np.load(named.records[0].feats))


def test_unknown_speaker_lists_the_known(packed_tts, tmp_path):
    text = write_text_dir(tmp_path / "text", "u1 hali\n")
    with pytest.raises(SpeakerError, match=r"unknown speaker 'zuhura'; known speakers: .*mmap.*"
                                           r"or 'target' \(= sw_35d\)"):
        synth(packed_tts, text, tmp_path / "out", speaker="zuhura")
    assert not (tmp_path / "out").exists()


def test_attention_and_durations_free_running(packed_tts, tmp_path):
    text = write_text_dir(tmp_path / "text", "u1 hali yako\nu2 ni mimi\n")
    result = synth(packed_tts, text, tmp_path / "out", write_attention=True,
                   write_durations=True)
    durations = {u: [int(d) for d in v.split()] for u, v in
                 kaldi(tmp_path / "out" / "durations").items()}
    for rec in result.records:
        feats, att = np.load(rec.feats), np.load(rec.att_ws)
        n_tokens = len(rec.tokens) + 1  # the model appends <sos/eos>
        assert att.shape == (feats.shape[0] // 2, n_tokens)  # reduction factor 2
        np.testing.assert_allclose(att.sum(axis=1), 1.0, atol=1e-4)
        assert len(durations[rec.utt]) == n_tokens
        assert sum(durations[rec.utt]) == feats.shape[0] == rec.frames
    assert result.records[0].tokens == ["h", "a", "l", "i", "<space>", "y", "a", "k", "o"]


def test_teacher_forcing_aligns_the_real_audio(packed_tts, micro_tts, tmp_path):
    train = DataDir.load(micro_tts.data_dir)
    utts = sorted(u for u, s in train.utt2spk.items() if s == TARGET)[:2]
    text = write_text_dir(tmp_path / "text", "".join(f"{u} {train.text[u]}\n" for u in utts))
    result = synth(packed_tts, text, tmp_path / "out", speaker="target", teacher_forcing=True,
                   speech_dir=str(micro_tts.data_dir), write_durations=True, write_attention=True)
    for rec in result.records:
        samples = sf.info(train.wav_scp[rec.utt]).frames
        frames = samples // 256 + 1  # hop 256, centred STFT
        assert rec.frames == frames - frames % 2  # whole decoder steps of 2 frames
        assert rec.speech_frames == frames
        # the durations count every frame of the real audio: what a student trains on
        assert sum(int(d) for d in kaldi(tmp_path / "out" / "durations")[rec.utt].split()) \
            == frames


def test_teacher_forcing_without_the_recording(packed_tts, micro_tts, tmp_path):
    text = write_text_dir(tmp_path / "text", "zz_not_recorded hali\n")
    with pytest.raises(InferenceError, match=r"wav.scp: utterance 'zz_not_recorded' has no audio;"
                                             " teacher forcing needs"):
        synth(packed_tts, text, tmp_path / "out", teacher_forcing=True,
              speech_dir=str(micro_tts.data_dir))


def test_near_empty_clips_are_recorded_as_failed(packed_tts, tmp_path):
    """A decoder stopped after one step (maxlenratio) speaks 2 frames: near-empty; with
    --min_seconds 0 it is written; the text of a failed clip is kept in `failed`."""
    text = write_text_dir(tmp_path / "text", "u1 hali yako\nu2 ni mimi sana leo\n")
    cut = dict(vocoder="griffin_lim", minlenratio=0.0, maxlenratio=0.2)
    result = synth(packed_tts, text, tmp_path / "out", **cut)
    assert [r.utt for r in result.failed] == ["u1", "u2"] and not result.records
    assert all(r.failed == "near_empty" and "2 frames" in r.detail for r in result.failed)
    assert kaldi(tmp_path / "out" / "failed") == {"u1": "hali yako", "u2": "ni mimi sana leo"}
    assert not (tmp_path / "out" / "wav").exists()
    assert DataDir.load(tmp_path / "out").audio_utt_ids == []
    saved = (tmp_path / "out" / "skipped.json").read_text()
    assert '"near_empty": 2' in saved
    kept = synth(packed_tts, text, tmp_path / "kept", min_seconds=0.0, **cut)
    assert not kept.failed and len(kept.records) == 2
    assert sf.info(kept.records[0].wav).frames > 0


def test_griffin_lim_writes_a_data_dir_of_wavs(packed_tts, tmp_path):
    text = write_text_dir(tmp_path / "text", "u1 Hali yako.\nu2 ni mimi\n")
    result = synth(packed_tts, text, tmp_path / "out", vocoder="griffin_lim")
    dd = DataDir.load(tmp_path / "out")
    assert sorted(dd.wav_scp) == ["u1", "u2"] and dd.text["u1"] == "Hali yako."
    for rec in result.records:
        info = sf.info(dd.wav_scp[rec.utt])
        assert info.samplerate == 16000
        assert abs(info.frames - rec.frames * 256) <= 1024  # n_fft edge effects only
    assert not (tmp_path / "out" / "feats.scp").exists()
    assert result.throughput.utterances == 2 and result.throughput.rtf > 0


def test_speaker_embeddings_condition_synthesis(micro_tts, tmp_path):
    """`spk_embed_dim` models get the named speaker's embedding from the packed spembs.npz.

    The model is ESPnet's Transformer-TTS built from the micro config with speaker
    embeddings instead of ids, at its initial weights: what is tested is the conditioning path.
    """
    import argparse

    import torch
    import yaml
    from espnet2.tasks.tts import TTSTask

    from lrspeech.models.speakers import write_speaker_embeddings

    config = yaml.safe_load((micro_tts.exp_dir / "config.yaml").read_text())
    config["tts_conf"].update(spks=None, spk_embed_dim=8)
    torch.manual_seed(0)
    model = TTSTask.build_model(argparse.Namespace(**config))
    (tmp_path / "exp").mkdir()
    (tmp_path / "exp" / "config.yaml").write_text(yaml.safe_dump(config))
    torch.save(model.state_dict(), tmp_path / "exp" / "model.pth")
    rng = np.random.default_rng(0)
    emb = write_speaker_embeddings({"amina": rng.normal(size=8), "baraka": rng.normal(size=8)},
                                   tmp_path / "spembs.npz")
    (tmp_path / "lang.yaml").write_text(LANG_YAML)
    packed = pack_model(tmp_path / "exp", tmp_path / "exp" / "model.pth", tmp_path / "tts",
                        lang_config=tmp_path / "lang.yaml", speaker_embeddings=emb,
                        meta={"target_speaker": "baraka"})
    text = write_text_dir(tmp_path / "text", "u1 hali yako\n")
    a = synth(packed, text, tmp_path / "a", speaker="amina")
    b = synth(packed, text, tmp_path / "b", speaker="target")
    assert b.speaker == "baraka"
    fa, fb = np.load(a.records[0].feats), np.load(b.records[0].feats)
    n = min(len(fa), len(fb))
    assert np.abs(fa[:n] - fb[:n]).mean() > 1e-3
    with pytest.raises(SpeakerError, match="unknown speaker 'zuhura'; known speakers: amina, "
                                           "baraka"):
        synth(packed, text, tmp_path / "c", speaker="zuhura")
    wrong = write_speaker_embeddings({"amina": np.zeros(3)}, tmp_path / "wrong.npz")
    with pytest.raises(PackError, match=r"speaker embeddings have 3 values but the model has "
                                        r"tts_conf.spk_embed_dim=8"):
        pack_model(tmp_path / "exp", tmp_path / "exp" / "model.pth", tmp_path / "tts2",
                   speaker_embeddings=wrong)
