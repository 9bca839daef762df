"""lrspeech.pipeline.lm and lm_fusion: the LM step, its fusion weights, a packed ASR with an LM."""

import json
import lzma
import shutil
from pathlib import Path

import pytest
import yaml

from lrspeech.bin import lm_fusion, lm_train
from lrspeech.data.datadir import DataDir
from lrspeech.models.lm import LM_DIR, LmMismatchError
from lrspeech.models.packing import load_asr
from lrspeech.pipeline.lm import FusionPoint, LmDataError, choose_point, lm_text
from lrspeech.text.lang import LangConfig

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[2]
BIBLE = REPO / "egs" / "swahili" / "lr1" / "db" / "text" / "bible_nt.tsv.xz"
LANG = REPO / "egs" / "swahili" / "lr1" / "conf" / "lang.yaml"


@pytest.fixture(scope="module")
def packed_asr(packed_micro_asr) -> Path:
    return packed_micro_asr


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, sw_rows) -> dict:
    """300 Bible verses (one of them also a dev sentence) and a dev dir of 2 real clips."""
    root = tmp_path_factory.mktemp("lm_corpus")
    verses = []
    with lzma.open(BIBLE, "rt", encoding="utf-8") as f:
        for line in f:
            vid, _, text = line.rstrip("\n").partition("\t")
            verses.append((vid, text))
            if len(verses) == 300:
                break
    dev_rows = sorted(sw_rows, key=lambda r: r["id"])[:2]
    verses.append(("leak", dev_rows[0]["text"].upper()))  # a dev sentence in the LM text
    text = root / "text_dir"
    text.mkdir()
    (text / "text").write_text("".join(f"{i} {t}\n" for i, t in verses), encoding="utf-8")
    dev = DataDir(wav_scp={r["id"]: r["audio"] for r in dev_rows},
                  text={r["id"]: r["text"] for r in dev_rows},
                  utt2spk={r["id"]: r["speaker"] for r in dev_rows})
    dev.save(root / "dev")
    config = yaml.safe_load((REPO / "conf" / "lm" / "lstm_tiny.yaml").read_text())
    config["lm_conf"]["unit"] = 16
    config["batch_size"] = 16
    (root / "lm.yaml").write_text(yaml.safe_dump(config))
    return {"root": root, "text": text, "dev": root / "dev", "config": root / "lm.yaml"}


@pytest.fixture(scope="module")
def lm_dir(corpus, packed_asr) -> Path:
    out = corpus["root"] / "lm"
    rc = lm_train.main(["--text", str(corpus["text"]), "--exclude", str(corpus["dev"]),
                        "--lang_config", str(LANG), "--token_list", str(packed_asr / "tokens.txt"),
                        "--config", str(corpus["config"]), "--out_dir", str(out), "--epochs", "1"])
    assert rc == 0
    return out


def test_lm_step_drops_the_dev_sentence_and_reports_perplexity(lm_dir, packed_asr):
    record = json.loads((lm_dir / "lm.json").read_text())
    assert record["sentences"] == {"kept": 300, "empty": 0, "exact": 1}
    vocab = len((packed_asr / "tokens.txt").read_text().splitlines())
    assert 1.0 < record["dev_perplexity"] < vocab  # learned something, on held-out text
    meta = json.loads((lm_dir / "model" / "meta.json").read_text())
    assert meta["task"] == "lm" and meta["dev_perplexity"] == record["dev_perplexity"]
    trained = (lm_dir / "data" / "train" / "text").read_text()
    assert "leak" not in trained


def test_too_little_text_is_refused():
    with pytest.raises(LmDataError, match="at least 100.*--lm_weight 0"):
        lm_text({f"s{i}": "habari za asubuhi" for i in range(20)}, [],
                LangConfig.load(LANG), where="data/tiny")


def test_tune_attach_and_load_keep_the_lm(lm_dir, packed_asr, corpus, tmp_path, capsys):
    fusion = tmp_path / "fusion.json"
    assert lm_fusion.main(["tune", "--asr_dir", str(packed_asr), "--lm_dir",
                           str(lm_dir / "model"), "--data_dir", str(corpus["dev"]),
                           "--lang_config", str(LANG), "--weights", "0.3", "--bonuses", "0",
                           "1", "--out", str(fusion)]) == 0
    r = json.loads(fusion.read_text())
    assert len(r["grid"]) == 3 and r["chosen"]["cer"] <= r["no_lm"]["cer"]
    asr = tmp_path / "asr"
    shutil.copytree(packed_asr, asr)
    assert lm_fusion.main(["attach", "--asr_dir", str(asr), "--lm_dir", str(lm_dir / "model"),
                           "--lm_weight", "0.5", "--length_bonus", "1.0"]) == 0
    meta = json.loads((asr / "meta.json").read_text())
    assert meta["lm"]["weight"] == 0.5 and meta["lm"]["length_bonus"] == 1.0
    assert (asr / LM_DIR / "model.pth").is_file()
    s2t = load_asr(asr)
    assert s2t.beam_search.fusion.active and s2t.beam_search.fusion.lm_weight == 0.5
    assert load_asr(asr, lm_weight=0.0, length_bonus=0.0).beam_search.fusion.active is False
    # An LM over another token list is refused when attached.
    other = tmp_path / "other_lm"
    shutil.copytree(lm_dir / "model", other)
    m = json.loads((other / "meta.json").read_text())
    m["tokens_sha256"] = "0" * 64
    (other / "meta.json").write_text(json.dumps(m))
    with pytest.raises(LmMismatchError, match="another token list"):
        from lrspeech.models.lm import attach_lm
        attach_lm(asr, other, 0.5, 0.0)


def test_the_chosen_pair_never_raises_cer():
    pts = [FusionPoint(0.0, 0.0, 0.20, 0.70, 1.0), FusionPoint(0.5, 0.0, 0.21, 0.50, 1.0),
           FusionPoint(0.3, 1.0, 0.19, 0.55, 1.0), FusionPoint(0.3, 0.0, 0.20, 0.55, 1.0)]
    assert (choose_point(pts).lm_weight, choose_point(pts).length_bonus) == (0.3, 1.0)
    assert choose_point(pts[:2]).lm_weight == 0.0  # a lower WER at a higher CER is not taken
