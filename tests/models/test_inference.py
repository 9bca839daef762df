"""Tests for lrspeech.models.inference: decode and synthesize real data dirs with packed micro
models (ASR on Swahili + AN4, multi-speaker Transformer-TTS), jobs, and bad inputs."""

import logging
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from lrspeech.data.audio import load_audio
from lrspeech.data.datadir import DataDir
from lrspeech.data.errors import DataDirError
from lrspeech.models.inference import (
    InferenceError,
    Throughput,
    TtsOptions,
    decode_data_dir,
    hypothesis_text,
    job_share,
    most_diagonal_head,
    split_parts,
    synthesize_text_dir,
)
from lrspeech.models.packing import PackError, pack_model, read_meta
from lrspeech.models.speakers import SpeakerError, read_spk2sid

LANG_YAML = ("language: test\niso: sw\nespeak_voice: none\ntoken_type: char\n"
             "punctuation: strip\nnumber_normalizer: none\n")
TARGET = "sw_35d"
# Untrained decoders stop at random: bound the length so tests are fast and never near-empty
# (at least 3 frames per token, 0.1 s even for a 4-letter word).
FAST = dict(minlenratio=3.0, maxlenratio=3.5)


@pytest.fixture(scope="module")
def packed_asr(micro_asr, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("inference_asr")
    return pack_model(micro_asr.exp_dir, None, root / "asr", meta={"token_type": "char"})


@pytest.fixture(scope="module")
def packed_tts(micro_tts, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("inference_tts")
    (root / "lang.yaml").write_text(LANG_YAML)
    meta = {"token_type": "char", "speakers": read_spk2sid(micro_tts.spk2sid),
            "target_speaker": TARGET}
    return pack_model(micro_tts.exp_dir, None, root / "tts", lang_config=root / "lang.yaml",
                      meta=meta)


@pytest.fixture(scope="module")
def eval_dir(sw_rows, an4_rows, tmp_path_factory) -> Path:
    """The held-out real clips (2 Swahili, 2 AN4) as a data dir."""
    rows = [r for r in sw_rows + an4_rows if r["split"] != "train"]
    dd = DataDir(wav_scp={r["id"]: r["audio"] for r in rows},
                 text={r["id"]: r["text"] for r in rows},
                 utt2spk={r["id"]: r["speaker"] for r in rows})
    out = tmp_path_factory.mktemp("eval") / "data"
    dd.save(out)
    return out


def write_text_dir(path: Path, lines: str) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "text").write_text(lines, encoding="utf-8")
    return path


def kaldi(path: Path) -> dict:
    return dict(line.split(" ", 1) if " " in line else (line, "")
                for line in path.read_text().splitlines())


# ---------------------------------------------------------------- jobs and helpers


def test_job_share_is_contiguous_and_balanced():
    ids = [f"u{i}" for i in range(7)]
    parts = [job_share(ids, k, 3) for k in (1, 2, 3)]
    assert parts == [["u0", "u1", "u2"], ["u3", "u4"], ["u5", "u6"]]
    assert job_share(ids[:2], 3, 3) == []  # more jobs than utterances: an empty job
    with pytest.raises(InferenceError, match="job 4 of 3: need 1 <= job_index <= num_jobs"):
        job_share(ids, 4, 3)


def test_split_parts_never_yields_empty_parts():
    assert split_parts(["a", "b"], 4) == [["a"], ["b"]]
    assert split_parts([], 2) == []


def test_hypothesis_text_spells_out_space_tokens():
    assert hypothesis_text("x", ["a", "b", "<space>", "c"], "word") == "ab c"
    assert hypothesis_text("hali  yako", ["h"], "char") == "hali yako"


def test_throughput_figures():
    took = Throughput(utterances=4, seconds=2.0, compute_seconds=1.0, audio_seconds=10.0)
    assert took.utts_per_second == 2.0 and took.rtf == 0.1
    assert "2.00 utt/s; RTF 0.100" in took.summary()


def test_most_diagonal_head_picks_the_focused_one():
    flat = np.full((4, 4), 0.25)
    sharp = np.eye(4)
    att = np.stack([np.stack([flat, flat]), np.stack([flat, sharp])])  # layers x heads
    np.testing.assert_array_equal(most_diagonal_head(att), sharp)


# ---------------------------------------------------------------- ASR


def test_decode_nj2_equals_nj1(packed_asr, eval_dir, tmp_path):
    hyps1, took = decode_data_dir(packed_asr, eval_dir, tmp_path / "nj1")
    hyps2, _ = decode_data_dir(packed_asr, eval_dir, tmp_path / "nj2", nj=2)
    assert [h.utt for h in hyps1] == sorted(DataDir.load(eval_dir).wav_scp)
    assert (tmp_path / "nj1" / "text").read_text() == (tmp_path / "nj2" / "text").read_text()
    assert (tmp_path / "nj1" / "score").read_text() == (tmp_path / "nj2" / "score").read_text()
    scores = {u: float(v) for u, v in kaldi(tmp_path / "nj1" / "score").items()}
    for h in hyps1:
        assert scores[h.utt] == pytest.approx(h.total_score / (h.tokens + 1), abs=1e-4)
        assert h.score <= 0.0
    assert took.utterances == 4 and took.audio_seconds == pytest.approx(
        sum(sf.info(p).duration for p in DataDir.load(eval_dir).wav_scp.values()))


def test_decode_jobs_split_the_dir(packed_asr, eval_dir, tmp_path):
    decode_data_dir(packed_asr, eval_dir, tmp_path / "all")
    decode_data_dir(packed_asr, eval_dir, tmp_path / "j2", job_index=2, num_jobs=2)
    full, second = kaldi(tmp_path / "all" / "text"), kaldi(tmp_path / "j2" / "text")
    assert list(second) == sorted(full)[2:]
    assert all(second[u] == full[u] for u in second)


def test_audio_at_another_rate_is_resampled_with_one_note(packed_asr, sw_rows, tmp_path, caplog):
    wavs = {}
    for r in sw_rows[:2]:
        x, sr = load_audio(r["audio"], target_sr=8000)
        wavs[r["id"]] = tmp_path / f"{r['id']}.wav"
        sf.write(wavs[r["id"]], x, sr)
    DataDir(wav_scp={u: str(p) for u, p in wavs.items()}).save(tmp_path / "data8k")
    with caplog.at_level(logging.WARNING, logger="lrspeech"):
        hyps, _ = decode_data_dir(packed_asr, tmp_path / "data8k", tmp_path / "out")
    notes = [r.getMessage() for r in caplog.records if "resampled" in r.getMessage()]
    assert len(notes) == 1 and "2 utterances resampled to the model's 16000 Hz (2 at 8000 Hz" \
        in notes[0]
    assert [h.sample_rate for h in hyps] == [8000, 8000]


def test_decode_needs_audio(packed_asr, tmp_path):
    write_text_dir(tmp_path / "text_only", "u1 hali\n")
    with pytest.raises(InferenceError, match="text_only/wav.scp: missing or empty"):
        decode_data_dir(packed_asr, tmp_path / "text_only", tmp_path / "out")


# ---------------------------------------------------------------- TTS


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


def test_empty_texts_and_blank_lines_are_skipped_with_one_report(packed_tts, tmp_path, caplog):
    text = write_text_dir(tmp_path / "text", "u1 hali\nu2\n\nu3   \nu4 ni mimi\n")
    with caplog.at_level(logging.WARNING, logger="lrspeech"):
        result = synth(packed_tts, text, tmp_path / "out")
    assert [r.utt for r in result.records] == ["u1", "u4"]
    messages = [r.getMessage() for r in caplog.records]
    assert sum("empty text skipped (u2, u3)" in m for m in messages) == 1
    assert sum("1 blank lines skipped (line 3)" in m for m in messages) == 1


def test_unknown_characters_are_counted_and_reported_once(packed_tts, tmp_path, caplog):
    text = write_text_dir(tmp_path / "text", "u1 hali ßana\nu2 jana ß\nu3 mimi\n")
    with caplog.at_level(logging.WARNING, logger="lrspeech"):
        result = synth(packed_tts, text, tmp_path / "out")
    unknown = [r.getMessage() for r in caplog.records if "<unk>" in r.getMessage()]
    assert len(unknown) == 1 and "2 tokens not in the token list" in unknown[0]
    assert "'ß' x2" in unknown[0]
    assert result.report.unknown["ß"] == 2
    assert result.records[0].tokens.count("<unk>") == 1


def test_bad_text_dir_names_the_line(packed_tts, tmp_path):
    text = write_text_dir(tmp_path / "text", "u1 hali\nu1 jambo\n")
    with pytest.raises(DataDirError, match=r"text:2: utterance 'u1' is a duplicate id"):
        synth(packed_tts, text, tmp_path / "out")


def test_missing_lang_yaml_says_how_to_fix(packed_tts, tmp_path):
    import shutil

    bare = shutil.copytree(packed_tts, tmp_path / "tts")
    (bare / "lang.yaml").unlink()
    text = write_text_dir(tmp_path / "text", "u1 h a l i\n")
    with pytest.raises(InferenceError, match="lang.yaml: missing; .*--lang_config, or pass "
                                             r"pre-tokenized text \(--tokenized\)"):
        synth(bare, text, tmp_path / "out")
    result = synth(bare, text, tmp_path / "out", tokenized=True)
    assert result.records[0].tokens == ["h", "a", "l", "i"]


def test_espnet_token_types_use_espnets_tokenizer(packed_tts, tmp_path, caplog):
    """A model trained on ESPnet's own `char` tokens reads raw text through ESPnet's tokenizer."""
    import shutil

    import yaml

    model = shutil.copytree(packed_tts, tmp_path / "tts")
    config = yaml.safe_load((model / "config.yaml").read_text())
    config["token_type"] = "char"
    (model / "config.yaml").write_text(yaml.safe_dump(config))
    text = write_text_dir(tmp_path / "text", "u1 hali ßß\nu2 mimi\n")
    with caplog.at_level(logging.WARNING, logger="lrspeech"):
        result = synth(model, text, tmp_path / "out")
    assert result.records[0].tokens == ["h", "a", "l", "i", "<space>", "<unk>", "<unk>"]
    unknown = [r.getMessage() for r in caplog.records if "<unk>" in r.getMessage()]
    assert len(unknown) == 1 and "2 tokens unknown to the model were read as <unk>: 'ß' x2 " \
        "(e.g. in u1)" in unknown[0]


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
