"""Cross-lingual transfer from the micro models: exactly the reported values are copied."""

from pathlib import Path

import pytest
import torch
from espnet2.torch_utils.load_pretrained_model import load_pretrained_model

from lrspeech.bin import transfer_init
from lrspeech.models.tasks import ConfigError, build_model
from lrspeech.models.transfer import (
    TransferSpec,
    init_from_checkpoint,
    load_state,
    resolve_token_map,
    transfer_state,
    vocab_tensor_names,
)
from lrspeech.text.token_list import read_token_list

REPO = Path(__file__).resolve().parents[2]
ASR_CONFIG = REPO / "conf" / "asr" / "transformer_tiny.yaml"
TTS_CONFIG = REPO / "conf" / "tts" / "transformer_tiny.yaml"
ASR_VOCAB = ["ctc.ctc_lo.bias", "ctc.ctc_lo.weight", "decoder.embed.0.weight",
             "decoder.output_layer.bias", "decoder.output_layer.weight"]
# target token -> source token; "ɛ" unmapped; "ŋ" -> "n"; "b" not in the map nor the source.
TOKEN_MAP = {"a": "a", "e": "i", "ŋ": "n", "ɛ": None, "k": "k", "<space>": "<space>"}
TARGET_BODY = ["a", "<space>", "e", "k", "ŋ", "ɛ", "b", "m"]


def write_tokens(path: Path, body):
    path.write_text("\n".join(["<blank>", "<unk>", *body, "<sos/eos>"]) + "\n", encoding="utf-8")
    return path


def write_map(path: Path, token_map):
    lines = [f"{t}\t{s or ''}\t{'identity' if s == t else ('unmapped' if s is None else 'phoneme')}"
             for t, s in token_map.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def asr_transfer(micro_asr, tmp_path_factory):
    root = tmp_path_factory.mktemp("transfer_asr")
    tgt_tokens = write_tokens(root / "tokens.txt", TARGET_BODY)
    spec = TransferSpec(task="asr", src_config=micro_asr.config, src_ckpt=micro_asr.checkpoint,
                        src_tokens=micro_asr.token_list, tgt_config=ASR_CONFIG,
                        tgt_tokens=tgt_tokens, token_map=TOKEN_MAP)
    out = root / "init.pth"
    report = init_from_checkpoint(spec, out)
    return {"report": report, "out": torch.load(out), "src": load_state(micro_asr.checkpoint),
            "src_tokens": read_token_list(micro_asr.token_list),
            "tgt_tokens": read_token_list(tgt_tokens), "path": out, "tokens_path": tgt_tokens}


def test_resolve_token_map_uses_map_then_identity():
    src = ["<blank>", "<unk>", "a", "n", "i", "<sos/eos>"]
    tgt = ["<blank>", "<unk>", "a", "ŋ", "e", "ɛ", "<sos/eos>"]
    rows = resolve_token_map(src, tgt, {"ŋ": "n", "e": "i", "ɛ": None})
    assert rows == {0: 0, 1: 1, 2: 2, 3: 3, 4: 4, 6: 5}


def test_vocab_tensor_names_are_exact():
    names = ["decoder.embed.0.weight", "encoder.embed.out.0.weight", "ctc.ctc_lo.bias",
             "tts.encoder.embed.0.weight", "tts.sid_emb.weight", "tts.decoder.embed.0.1.weight"]
    assert vocab_tensor_names("asr", names) == ["decoder.embed.0.weight", "ctc.ctc_lo.bias"]
    assert vocab_tensor_names("tts", names) == ["tts.encoder.embed.0.weight"]


def test_asr_whole_tensors_copied_are_equal_to_source(asr_transfer):
    report, out, src = asr_transfer["report"], asr_transfer["out"], asr_transfer["src"]
    assert "encoder.encoders.0.self_attn.linear_q.weight" in report.copied
    assert len(report.copied) == len(out) - len(ASR_VOCAB)
    for name in report.copied:
        assert torch.equal(out[name], src[name]), name
    assert report.fresh == {}
    assert not any(k.startswith("normalize.") for k in out)  # target keeps its own stats


def test_asr_vocab_rows_follow_the_token_map(asr_transfer):
    report, out, src = asr_transfer["report"], asr_transfer["out"], asr_transfer["src"]
    src_tokens, tgt_tokens = asr_transfer["src_tokens"], asr_transfer["tgt_tokens"]
    expected = {"<blank>": "<blank>", "<unk>": "<unk>", "a": "a", "<space>": "<space>",
                "e": "i", "k": "k", "ŋ": "n", "m": "m", "<sos/eos>": "<sos/eos>"}
    assert report.mapped_tokens == expected
    assert sorted(report.unmapped_tokens) == ["b", "ɛ"]
    assert report.rows == {name: len(expected) for name in ASR_VOCAB}
    for name in ASR_VOCAB:
        for tgt, source in expected.items():
            row = out[name][tgt_tokens.index(tgt)]
            assert torch.equal(row, src[name][src_tokens.index(source)]), (name, tgt)
    for name in ("decoder.embed.0.weight", "ctc.ctc_lo.weight", "decoder.output_layer.weight"):
        for fresh in ("ɛ", "b"):
            row = out[name][tgt_tokens.index(fresh)]
            assert not any(torch.allclose(row, r) for r in src[name]), (name, fresh)


def test_asr_output_loads_with_espnet_init_param(asr_transfer):
    model = build_model("asr", ASR_CONFIG, asr_transfer["tgt_tokens"])
    load_pretrained_model(str(asr_transfer["path"]), model, ignore_init_mismatch=False)
    state = model.state_dict()
    for name, value in asr_transfer["out"].items():
        assert torch.equal(state[name], value), name


@pytest.mark.parametrize("spks, sid_copied", [(10, True), (4, False)])
def test_tts_embedding_rows_and_speaker_table(micro_tts, tmp_path, spks, sid_copied):
    src = load_state(micro_tts.checkpoint)
    src_tokens = read_token_list(micro_tts.token_list)
    tgt_tokens = ["<blank>", "<unk>", "a", "ŋ", "<space>", "ɛ", "<sos/eos>"]
    tgt = build_model("tts", TTS_CONFIG, tgt_tokens, {"tts_conf.spks": spks}).state_dict()
    out, report = transfer_state("tts", src, tgt, src_tokens, tgt_tokens, {"ŋ": "n", "ɛ": None})
    name = "tts.encoder.embed.0.weight"
    assert report.rows == {name: 6}
    assert torch.equal(out[name][3], src[name][src_tokens.index("n")])
    assert torch.equal(out[name][5], tgt[name][5])  # fresh row: the target's own init
    assert not any(torch.allclose(out[name][5], r) for r in src[name])
    assert ("tts.sid_emb.weight" in report.copied) is sid_copied
    if not sid_copied:
        assert report.fresh["tts.sid_emb.weight"] == "shape (10, 64) != (4, 64)"
        assert torch.equal(out["tts.sid_emb.weight"], tgt["tts.sid_emb.weight"])
    assert torch.equal(out["tts.decoder.embed.0.1.weight"], src["tts.decoder.embed.0.1.weight"])


def test_cli_without_src_tokens_uses_the_config_list(micro_asr, tmp_path, capsys):
    token_map = write_map(tmp_path / "token_map.tsv", TOKEN_MAP)
    tgt_tokens = write_tokens(tmp_path / "tokens.txt", TARGET_BODY)
    out = tmp_path / "init" / "model.pth"
    transfer_init.main([
        "--task", "asr", "--src_config", str(micro_asr.config),
        "--src_ckpt", str(micro_asr.checkpoint), "--tgt_config", str(ASR_CONFIG),
        "--tgt_tokens", str(tgt_tokens), "--token_map", str(token_map), "--out", str(out),
    ])
    printed = capsys.readouterr().out
    assert f"{out}: copied" in printed and "9 tokens mapped, 2 fresh" in printed
    state = torch.load(out)
    src = load_state(micro_asr.checkpoint)
    src_tokens = read_token_list(micro_asr.token_list)
    e, i = read_token_list(tgt_tokens).index("e"), src_tokens.index("i")
    assert torch.equal(state["decoder.embed.0.weight"][e], src["decoder.embed.0.weight"][i])
    assert not list(out.parent.glob(".*tmp"))


def test_config_and_checkpoint_from_different_models(micro_asr, tmp_path):
    spec = TransferSpec(task="asr", src_config=REPO / "conf" / "asr" / "conformer_tiny.yaml",
                        src_ckpt=micro_asr.checkpoint, src_tokens=micro_asr.token_list,
                        tgt_config=ASR_CONFIG, tgt_tokens=micro_asr.token_list, token_map={})
    with pytest.raises(ConfigError) as err:
        init_from_checkpoint(spec, tmp_path / "x.pth")
    message = str(err.value)
    assert str(micro_asr.checkpoint) in message and "conformer_tiny.yaml" in message
    assert "does not match the model built from" in message and "missing" in message
    assert not (tmp_path / "x.pth").exists()


def test_token_list_size_mismatch_names_both_files_and_sizes(micro_asr, tmp_path):
    short = write_tokens(tmp_path / "short.txt", ["a", "b"])
    spec = TransferSpec(task="asr", src_config=micro_asr.config, src_ckpt=micro_asr.checkpoint,
                        src_tokens=short, tgt_config=ASR_CONFIG, tgt_tokens=short, token_map={})
    with pytest.raises(ConfigError) as err:
        init_from_checkpoint(spec, tmp_path / "x.pth")
    n = len(read_token_list(micro_asr.token_list))
    assert str(err.value) == (
        f"token list {short} has 5 tokens but {micro_asr.checkpoint} has {n} rows in "
        "decoder.embed.0.weight; give the token list the model was trained with"
    )


def test_unknown_model_name_in_target_config(micro_asr, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(ASR_CONFIG.read_text().replace("encoder: transformer", "encoder: transfomer"))
    spec = TransferSpec(task="asr", src_config=micro_asr.config, src_ckpt=micro_asr.checkpoint,
                        src_tokens=micro_asr.token_list, tgt_config=bad,
                        tgt_tokens=micro_asr.token_list, token_map={})
    with pytest.raises(ConfigError, match=r"bad.yaml: unknown encoder 'transfomer'"):
        init_from_checkpoint(spec, tmp_path / "x.pth")


def test_not_a_checkpoint(tmp_path):
    bad = tmp_path / "opt.pth"
    torch.save({"lr": 0.1}, bad)
    with pytest.raises(ConfigError, match=r"opt.pth: not a model state dict"):
        load_state(bad)
    with pytest.raises(ConfigError, match=r"missing.pth: checkpoint not found"):
        load_state(tmp_path / "missing.pth")


def test_cli_reports_errors_without_traceback(micro_asr, tmp_path):
    with pytest.raises(SystemExit) as err:
        transfer_init.main([
            "--task", "asr", "--src_config", str(micro_asr.config),
            "--src_ckpt", str(micro_asr.checkpoint), "--tgt_config", str(ASR_CONFIG),
            "--tgt_tokens", str(micro_asr.token_list), "--token_map", str(tmp_path / "no.tsv"),
            "--out", str(tmp_path / "x.pth"),
        ])
    assert "transfer_init:" in str(err.value) and "no.tsv: token map not found" in str(err.value)


def test_the_fresh_initialisation_is_seeded(micro_tts, tmp_path):
    """What the source cannot fill (a speaker table of another size) starts the same on every
    run with the same seed, so the recipe's fine-tuning is reproducible; another seed differs."""
    tgt_tokens = write_tokens(tmp_path / "tokens.txt", ["a", "ŋ", "<space>", "ɛ"])

    def init(seed: int, name: str):
        spec = TransferSpec(task="tts", src_config=micro_tts.config,
                            src_ckpt=micro_tts.checkpoint, src_tokens=micro_tts.token_list,
                            tgt_config=TTS_CONFIG, tgt_tokens=tgt_tokens,
                            token_map={"ŋ": "n", "ɛ": None}, tgt_overrides={"tts_conf.spks": 4},
                            seed=seed)
        init_from_checkpoint(spec, tmp_path / name)
        return torch.load(tmp_path / name)

    first, again, other = init(1, "a.pth"), init(1, "b.pth"), init(2, "c.pth")
    assert all(torch.equal(first[k], again[k]) for k in first)
    assert not torch.equal(first["tts.sid_emb.weight"], other["tts.sid_emb.weight"])
