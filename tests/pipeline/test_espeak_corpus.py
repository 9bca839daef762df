"""Tests for lrspeech.pipeline.espeak_corpus and its CLI lrspeech.bin.make_espeak_corpus.

Real espeak-ng runs here; the sentences are the LJSpeech transcripts shipped in tests/data.
"""

import itertools
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest
import soundfile as sf

from lrspeech.bin import make_espeak_corpus as cli
from lrspeech.data.datadir import DataDir
from lrspeech.data.sentences import SentenceFileError
from lrspeech.data.validate import validate_data_dir
from lrspeech.pipeline import espeak_corpus as ec
from lrspeech.pipeline.espeak_corpus import (
    EspeakCorpusConfig,
    EspeakError,
    check_voice,
    list_variants,
    make_espeak_corpus,
    make_speakers,
    synthesize,
)


def median_f0(x: np.ndarray, sr: int) -> float:
    """Median F0 (Hz) of the voiced 40 ms frames, by autocorrelation in 60-400 Hz."""
    n, found = int(0.04 * sr), []
    for start in range(0, len(x) - n, n // 2):
        frame = x[start:start + n] * np.hanning(n)
        if np.sqrt(np.mean(frame ** 2)) < 0.02:
            continue
        ac = np.correlate(frame, frame, "full")[n - 1:]
        lo, hi = sr // 400, sr // 60
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.4 * ac[0]:
            found.append(sr / lag)
    assert len(found) > 10, "too few voiced frames to measure F0"
    return float(np.median(found))


@pytest.fixture(scope="module")
def text_tsv(tmp_path_factory, lj_rows: List[Dict[str, str]]) -> Path:
    path = tmp_path_factory.mktemp("text") / "lj.tsv"
    path.write_text("".join(f"{r['id']}\t{r['text']}\n" for r in lj_rows), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, text_tsv: Path) -> DataDir:
    out = tmp_path_factory.mktemp("corpus") / "rich_en"
    cfg = EspeakCorpusConfig(lang="en-us", num_speakers=3, num_utts=6, fs=16000, seed=7, nj=2)
    return make_espeak_corpus(text_tsv, out, cfg)


def test_corpus_layout(corpus: DataDir, lj_rows: List[Dict[str, str]]) -> None:
    out = corpus.path
    assert sorted(p.name for p in out.iterdir()) == [
        "spk2utt", "spk2voice", "text", "utt2dur", "utt2lang", "utt2spk", "wav", "wav.scp"
    ]
    loaded = validate_data_dir(out, expected_sr=16000, expected_kind="paired")
    assert len(loaded.wav_scp) == 6 and len(loaded.speakers) == 3
    assert all(len(utts) == 2 for utts in loaded.spk2utt.values())
    assert set(loaded.utt2lang.values()) == {"en-us"}
    for utt, spk in loaded.utt2spk.items():
        assert utt.startswith(spk + "-")
    by_sentence = {utt.split("-", 4)[-1]: text for utt, text in loaded.text.items()}
    assert by_sentence == {r["id"]: " ".join(r["text"].split()) for r in lj_rows}
    assert by_sentence["LJ001-0008"] == "has never been surpassed."


def test_real_audio_at_16k_with_right_durations(corpus: DataDir) -> None:
    for utt, path in corpus.wav_scp.items():
        info = sf.info(path)
        assert Path(path).parent == corpus.path / "wav"
        assert info.samplerate == 16000 and info.channels == 1 and info.subtype == "PCM_16"
        assert corpus.utt2dur[utt] == pytest.approx(info.frames / 16000, abs=1e-6)
        x, _ = sf.read(path)
        assert 0.5 < info.duration < 15 and np.abs(x).max() > 0.1  # speech, not silence


def test_speakers_differ_in_pitch(corpus: DataDir) -> None:
    f0 = {}
    for spk, utts in corpus.spk2utt.items():
        audio = np.concatenate([sf.read(corpus.wav_scp[u])[0] for u in utts])
        f0[spk] = median_f0(audio, 16000)
    assert all(60 < v < 400 for v in f0.values())
    for a, b in itertools.combinations(sorted(f0), 2):
        ratio = max(f0[a], f0[b]) / min(f0[a], f0[b])
        assert ratio > 1.05, f"{a} ({f0[a]:.0f} Hz) and {b} ({f0[b]:.0f} Hz) sound alike"
    print("median F0 per speaker:", {k: round(v) for k, v in f0.items()})


def test_pitch_option_moves_f0() -> None:
    text = "The quick brown fox jumps over the lazy dog near the river bank."
    low = median_f0(synthesize(text, "en-us+m1", 30, 160, 16000), 16000)
    high = median_f0(synthesize(text, "en-us+m1", 70, 160, 16000), 16000)
    assert high / low > 1.2


def test_spk2voice_records_variants(corpus: DataDir) -> None:
    lines = (corpus.path / "spk2voice").read_text().splitlines()
    assert len(lines) == 3
    variants = set()
    for line in lines:
        spk, voice, p_flag, pitch, s_flag, speed = line.split()
        assert spk in corpus.speakers and (p_flag, s_flag) == ("-p", "-s")
        assert voice.startswith("en-us+") and 30 <= int(pitch) <= 70 and 145 <= int(speed) <= 185
        variants.add(voice)
    assert len(variants) == 3


def test_deterministic_with_seed(tmp_path: Path, text_tsv: Path, corpus: DataDir) -> None:
    cfg = EspeakCorpusConfig(lang="en-us", num_speakers=3, num_utts=6, fs=16000, seed=7, nj=1)
    again = make_espeak_corpus(text_tsv, tmp_path / "again", cfg)
    assert again.text == corpus.text and again.utt2spk == corpus.utt2spk
    assert (tmp_path / "again/spk2voice").read_text() == (corpus.path / "spk2voice").read_text()
    for utt in corpus.wav_scp:
        assert Path(again.wav_scp[utt]).read_bytes() == Path(corpus.wav_scp[utt]).read_bytes()
    other = make_speakers(EspeakCorpusConfig(lang="en-us", num_speakers=3, seed=8), list_variants())
    same = make_speakers(EspeakCorpusConfig(lang="en-us", num_speakers=3, seed=7), list_variants())
    assert other != same


def test_speakers_beyond_the_variants_stay_distinct() -> None:
    speakers = make_speakers(EspeakCorpusConfig(lang="sw", num_speakers=40), list_variants())
    assert len({s.spk_id for s in speakers}) == 40
    assert len({(s.variant, s.pitch, s.speed) for s in speakers}) == 40
    assert {s.variant for s in speakers[:13]} == {f"m{i}" for i in range(1, 9)} | {
        f"f{i}" for i in range(1, 6)
    }
    assert not {s.variant for s in speakers} & ec.EFFECT_VARIANTS


def test_unknown_language_error() -> None:
    with pytest.raises(EspeakError) as err:
        check_voice("xx-notalang")
    assert "espeak-ng has no voice 'xx-notalang'" in str(err.value)
    assert "espeak-ng --voices" in str(err.value)
    with pytest.raises(EspeakError, match="did you mean 'en-us'"):
        check_voice("en-uss")
    check_voice("sw")


def test_swahili_and_leading_dash(tmp_path: Path) -> None:
    text = tmp_path / "sw.txt"
    text.write_text("-5 ni namba hasi.\n\nHabari ya asubuhi, rafiki yangu.\n", encoding="utf-8")
    cfg = EspeakCorpusConfig(lang="sw", num_speakers=2)
    dd = make_espeak_corpus(text, tmp_path / "rich_sw", cfg)
    assert sorted(u.split("-")[-1] for u in dd.text) == ["000001", "000003"]
    assert dd.text[next(u for u in dd.text if u.endswith("000001"))] == "-5 ni namba hasi."
    assert all(d > 1.0 for d in dd.utt2dur.values())


def test_too_few_sentences(tmp_path: Path, text_tsv: Path) -> None:
    with pytest.raises(SentenceFileError, match="has 6 sentences, 50 utterances asked"):
        make_espeak_corpus(text_tsv, tmp_path / "x", EspeakCorpusConfig("en-us", num_utts=50))
    with pytest.raises(ValueError, match="2 sentences for 3 speakers"):
        make_espeak_corpus(
            text_tsv, tmp_path / "x", EspeakCorpusConfig("en-us", num_speakers=3, num_utts=2)
        )
    assert not (tmp_path / "x").exists()


def test_bad_config_values() -> None:
    with pytest.raises(ValueError, match="pitch range"):
        EspeakCorpusConfig("en-us", pitch_range=(50, 120))
    with pytest.raises(ValueError, match="--num_speakers must be at least 1"):
        EspeakCorpusConfig("en-us", num_speakers=0)
    with pytest.raises(ValueError, match="speaker prefix 'a b'"):
        make_speakers(EspeakCorpusConfig("en-us", spk_prefix="a b"), list_variants())


def test_failure_midway_leaves_no_output(tmp_path: Path, text_tsv: Path, monkeypatch) -> None:
    real = ec.synthesize
    calls = []

    def flaky(text: str, *args, **kwargs) -> np.ndarray:
        calls.append(text)
        if len(calls) == 3:
            raise EspeakError("simulated crash")
        return real(text, *args, **kwargs)

    monkeypatch.setattr(ec, "synthesize", flaky)
    with pytest.raises(EspeakError, match="utterance 'espeak-en-us-.*simulated crash"):
        make_espeak_corpus(text_tsv, tmp_path / "out", EspeakCorpusConfig("en-us", num_utts=6))
    assert list(tmp_path.iterdir()) == []


def test_empty_audio_is_skipped(tmp_path: Path, caplog) -> None:
    text = tmp_path / "t.txt"
    text.write_text("Good morning to you.\n...\nSee you later.\n")
    dd = make_espeak_corpus(text, tmp_path / "o", EspeakCorpusConfig("en-us", num_speakers=1))
    assert sorted(u[-6:] for u in dd.text) == ["000001", "000003"]
    assert "espeak-ng made" in caplog.text and "skipped" in caplog.text
    assert len(list((tmp_path / "o/wav").iterdir())) == 2


def test_wav_dir_outside_out_survives_a_move(tmp_path: Path, text_tsv: Path) -> None:
    cfg = EspeakCorpusConfig("en-us", num_speakers=2, num_utts=2)
    make_espeak_corpus(text_tsv, tmp_path / "tmp/rich", cfg, wav_dir=tmp_path / "wavs")
    (tmp_path / "tmp/rich").rename(tmp_path / "rich")
    moved = DataDir.load(tmp_path / "rich")
    assert sorted(p.name for p in (tmp_path / "rich").iterdir()) == [
        "spk2utt", "spk2voice", "text", "utt2dur", "utt2lang", "utt2spk", "wav.scp"
    ]
    for utt, path in moved.wav_scp.items():
        assert Path(path) == tmp_path / "wavs" / f"{utt}.wav"
        assert sf.info(path).frames == round(moved.utt2dur[utt] * 16000)
    with pytest.raises(ValueError, match="lies inside --out"):
        make_espeak_corpus(text_tsv, tmp_path / "rich", cfg, wav_dir=tmp_path / "rich/w")


def test_cli(tmp_path: Path, text_tsv: Path, capsys) -> None:
    out = tmp_path / "cli"
    argv = ["--text", str(text_tsv), "--lang", "en-gb", "--num_speakers", "2", "--num_utts",
            "2", "--fs", "22050", "--out", str(out), "--seed", "3"]
    assert cli.main(argv) == 0
    assert f"{out}: 2 utterances, 2 speakers" in capsys.readouterr().out
    assert {sf.info(p).samplerate for p in DataDir.load(out).wav_scp.values()} == {22050}
    assert cli.main(argv[:2] + ["--lang", "zz", "--out", str(tmp_path / "bad")]) == 1
    assert "espeak-ng has no voice 'zz'" in capsys.readouterr().err
    assert not (tmp_path / "bad").exists()
