"""EspnetJudge on a real (micro) ESPnet ASR, packed as the recipe packs it, then eval_ir.

The micro ASR trains a few steps on tests/data (tests/models/conftest.py's builder): it is a
real Speech2Text model, not a good one, so the test checks that the judge hears what
Speech2Text decodes for the same padded audio, not the transcripts' quality.
"""

import importlib.util
import json
from pathlib import Path

import pytest

from lrspeech.data.audio import load_audio, resample
from lrspeech.eval.ir import pad_silence
from lrspeech.eval.judge import EspnetJudge, detokenize, make_judge
from lrspeech.text.cleaners import normalize_for_scoring
from lrspeech.text.lang import LangConfig

pytest.importorskip("lrspeech.models.packing")
REPO = Path(__file__).resolve().parents[2]


def _builders():
    """tests/models/conftest.py, loaded by path (it offers its builders to other tests)."""
    spec = importlib.util.spec_from_file_location(
        "lrspeech_models_test_builders", REPO / "tests" / "models" / "conftest.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def packed_asr(tmp_path_factory, sw_rows, an4_rows):
    from lrspeech.models.packing import pack_model

    b = _builders()
    rows = b.split_rows(sw_rows, an4_rows)
    root = tmp_path_factory.mktemp("judge_asr")
    micro = b.build_micro_asr(root, rows["train"], rows["valid"])
    return pack_model(micro.exp_dir, micro.checkpoint, root / "packed")


@pytest.mark.slow
def test_packed_judge_in_eval_ir(packed_asr, sw_rows, tmp_path):
    import torch

    from lrspeech.bin import eval_ir

    rows = sorted(sw_rows, key=lambda r: r["id"])[:2]
    d = tmp_path / "dev"
    d.mkdir()
    (d / "text").write_text("".join(f"{r['id']} {r['text']}\n" for r in rows))
    (d / "wav.scp").write_text("".join(f"{r['id']} {r['audio']}\n" for r in rows))
    out = tmp_path / "ir"
    lang = REPO / "conf" / "lang" / "sw.yaml"
    argv = [
        "--judge",
        str(packed_asr),
        "--text",
        str(d),
        "--wav_dir",
        str(d),
        "--out_dir",
        str(out),
    ]
    assert eval_ir.main(argv + ["--lang_config", str(lang)]) == 0
    data = json.loads((out / "ir.json").read_text())
    assert data["judge"] == str(packed_asr) and data["num_utts"] == 2
    assert 0.0 <= data["ir"] <= 1.0 and data["judge_cer"] is not None

    # the judge hears what Speech2Text decodes from the padded 16 kHz audio
    judge = make_judge(packed_asr)
    assert isinstance(judge, EspnetJudge) and judge.sample_rate == 16000
    x, sr = load_audio(rows[0]["audio"], target_sr=22050)
    heard = judge.transcribe(pad_silence(x, sr), sr)
    direct = judge.speech2text(torch.from_numpy(resample(pad_silence(x, sr), sr, 16000)))[0][0]
    assert heard == detokenize(direct)
    tsv = (out / "ir_utts.tsv").read_text().splitlines()[1].split("\t")
    assert tsv[0] == rows[0]["id"]
    # eval_ir read the file at its own rate (16 kHz): the judge's words on that audio
    own, own_sr = load_audio(rows[0]["audio"])
    heard_own = judge.transcribe(pad_silence(own, own_sr), own_sr)
    assert tsv[2] == normalize_for_scoring(heard_own, LangConfig.load(lang))
