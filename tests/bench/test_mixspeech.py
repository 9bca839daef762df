"""bench/mixspeech.py helpers: audio path resolution, variant configs, the summary."""

import pytest


@pytest.fixture(scope="module")
def mix(bench_module):
    return bench_module("mixspeech")


def test_resolve_audio_path(mix, tmp_path):
    recipe = tmp_path / "moved" / "lr1"
    wav = recipe / "dump" / "raw" / "dev" / "wav" / "a.wav"
    wav.parent.mkdir(parents=True)
    wav.write_bytes(b"RIFF")
    roots = [recipe]
    assert mix.resolve_audio_path(str(wav), roots) == str(wav)
    assert mix.resolve_audio_path("dump/raw/dev/wav/a.wav", roots) == str(wav.resolve())
    stale = "/old/place/egs/sw/lr1/dump/raw/dev/wav/a.wav"  # the recipe dir was moved
    assert mix.resolve_audio_path(stale, roots) == str(wav.resolve())
    assert mix.resolve_audio_path("sox x.flac -t wav - |", roots) == "sox x.flac -t wav - |"
    assert mix.resolve_audio_path("/old/dump/raw/dev/wav/b.wav", roots) is None
    assert mix.resolve_audio_path("wav/a.wav", roots) is None  # relative: whole path only


def test_resolve_data_dir_names_the_line(mix, tmp_path):
    src = tmp_path / "dev"
    src.mkdir()
    (src / "wav.scp").write_text("u1 /nowhere/u1.wav\n")
    (src / "text").write_text("u1 habari\n")
    with pytest.raises(SystemExit, match=r"dev/wav.scp:1: utterance 'u1'"):
        mix.resolve_data_dir(src, tmp_path / "out", [tmp_path])


BASE = {
    "frontend": "default",
    "specaug": "specaug",
    "specaug_conf": {"num_freq_mask": 1},
    "encoder": "transformer",
    "model_conf": {"ctc_weight": 0.3},
}
SPEC = {"num_freq_mask": 2}


def test_variant_config_switches_only_specaug_and_model(mix):
    none = mix.variant_config(BASE, "none", SPEC, {"mix_share": 0.5})
    assert "specaug" not in none and none.get("model") is None
    assert none["model_conf"] == {"ctc_weight": 0.3}
    spec = mix.variant_config(BASE, "specaug", SPEC, {})
    assert spec["specaug"] == "specaug" and spec["specaug_conf"] == SPEC
    mixed = mix.variant_config(BASE, "mixspeech", SPEC, {"mix_share": 0.5})
    assert mixed["model"] == "mixspeech" and "specaug" not in mixed
    assert mixed["model_conf"] == {"ctc_weight": 0.3, "mix_share": 0.5}
    both = mix.variant_config(BASE, "both", SPEC, {})
    assert both["model"] == "mixspeech" and both["specaug_conf"] == SPEC
    for conf in (none, spec, mixed, both):
        assert conf["encoder"] == "transformer" and conf["frontend"] == "default"
    assert BASE["specaug_conf"] == {"num_freq_mask": 1}  # the base is not changed
    with pytest.raises(ValueError):
        mix.variant_config(BASE, "mixup", SPEC, {})


def test_variant_config_mixspeech_base_gets_espnet_model(mix):
    base = {"model": "mixspeech", "model_conf": {"ctc_weight": 0.3, "mix_alpha": 0.4}}
    assert mix.variant_config(base, "specaug", SPEC, {}) == {
        "model": "espnet", "model_conf": {"ctc_weight": 0.3}, "specaug": "specaug",
        "specaug_conf": SPEC}


def test_default_specaug_prefers_the_config(mix):
    assert mix.default_specaug(BASE) == {"num_freq_mask": 1}
    paper = mix.default_specaug({"model_conf": {}})
    assert paper["apply_freq_mask"] is True


def cell(cer, wer=0.5, train_s=10.0):
    return {"cer": cer, "wer": wer, "train_s": train_s}


def test_summarize(mix):
    cells = {
        "none": {1: cell(0.40), 2: cell(0.44)},
        "specaug": {1: cell(0.30), 2: cell(0.34)},
        "mixspeech": {1: cell(0.27), 2: cell(0.35)},
        "both": {1: cell(0.31), 2: cell(0.33)},
    }
    s = mix.summarize(cells)
    assert s["variants"]["specaug"]["cer_mean"] == pytest.approx(0.32)
    assert s["variants"]["specaug"]["cer_std"] == pytest.approx(0.0282843, abs=1e-6)
    assert s["variants"]["none"]["cer"] == [0.40, 0.44]
    m = s["mixspeech_vs_specaug"]
    assert m["relative_cer_change"] == pytest.approx(0.31 / 0.32 - 1)
    assert not m["target_met"] and m["lower_in_seeds"] == 1 and m["seeds_compared"] == 2
    cells["mixspeech"] = {1: cell(0.28), 2: cell(0.30)}
    m = mix.summarize(cells)["mixspeech_vs_specaug"]
    assert m["target_met"] and m["lower_in_seeds"] == 2
    table = mix.markdown(mix.summarize(cells), {"cer": 0.5, "wer": 1.0})
    assert "| specaug | 32.0% ± 2.8 | 30.0, 34.0 |" in table
    assert "mixspeech vs specaug alone: CER -9.4% relative" in table


def test_decode_score_scores_each_utterance_and_caches(mix, packed_micro_asr, test_data, tmp_path):
    """The decode-and-score helper bench/dt_mix.py shares: corpus rates, per-utterance counts
    (what lrspeech.eval.significance reads) and a cache that a second call returns as is."""
    from lrspeech.data.corpus import datadir_from_metadata
    from lrspeech.eval.significance import score_counts
    from lrspeech.models.asr_decode import AsrOptions

    dev = tmp_path / "dev"
    datadir_from_metadata(test_data / "sw" / "metadata.tsv", split="val").save(dev)
    lang = mix.REPO / "conf" / "lang" / "sw.yaml"
    out = tmp_path / "score"
    first = mix.decode_score(packed_micro_asr, dev, out, lang, AsrOptions(beam_size=2))
    counts = score_counts(out / "score.json")
    assert sorted(counts) == sorted(u["utt"] for u in first["utts"]) and len(counts) == 2
    errors, chars = map(sum, zip(*counts.values()))
    assert first["cer"] == pytest.approx(errors / chars)
    (out / "decode" / "text").unlink()  # a cached score does not decode again
    assert mix.decode_score(packed_micro_asr, dev, out, lang, AsrOptions()) == first
