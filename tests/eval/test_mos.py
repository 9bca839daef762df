"""Tests of lrspeech.eval.mos: proxies over utterance sets, CIs, skip paths, output files."""

import csv
import io
import json
import logging
import sys

import numpy as np
import pytest
import soundfile as sf

from lrspeech.eval.inputs import AudioRef
from lrspeech.eval.mos import MosConfig, evaluate_mos, load_dnsmos, write_mos


@pytest.fixture(scope="module")
def refs(sw_rows):
    return {r["id"]: AudioRef(r["audio"]) for r in sw_rows[:3]}


def test_reference_metrics_with_ci_and_files(refs, tmp_path):
    ids = sorted(refs)
    # "synthesized" set: the real clips of two utterances, and a different clip for the third
    synth = {ids[0]: refs[ids[0]], ids[1]: refs[ids[1]], ids[2]: refs[ids[0]]}
    result = evaluate_mos(synth, refs, MosConfig(dnsmos=False))
    assert result.utts[ids[0]]["mcd"] == pytest.approx(0.0, abs=1e-9)
    assert result.utts[ids[2]]["mcd"] > 2.0
    summary = result.summary()["mcd"]
    assert summary.n == 3 and summary.mean == pytest.approx(result.utts[ids[2]]["mcd"] / 3)
    assert summary.ci95 > 0
    paths = write_mos(result, tmp_path / "mos", {"wav_dir": "w"})
    data = json.loads(paths[1].read_text())
    assert data["wav_dir"] == "w" and data["metrics"]["mcd"]["n"] == 3
    rows = list(csv.DictReader(io.StringIO(paths[0].read_text()), delimiter="\t"))
    assert [r["utt"] for r in rows] == ids and float(rows[0]["mcd"]) == 0.0


def test_dnsmos_missing_extra_is_skipped_with_a_message(monkeypatch, caplog, refs):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    caplog.set_level(logging.WARNING)
    assert load_dnsmos() is None
    assert "DNSMOS skipped: the package onnxruntime is not installed" in caplog.text
    result = evaluate_mos(refs, None, MosConfig())
    assert all(scores == {} for scores in result.utts.values())


def test_failing_utterance_is_recorded_as_missing(tmp_path, caplog, refs):
    short = tmp_path / "short.wav"
    sf.write(str(short), np.zeros(40, dtype=np.float32), 16000)
    utt = sorted(refs)[0]
    result = evaluate_mos({utt: AudioRef(str(short))}, refs, MosConfig(dnsmos=False))
    assert result.utts[utt] == {}
    assert f"utterance '{utt}': reference metrics failed (clip is shorter" in caplog.text


def test_dnsmos_in_the_full_set(refs):
    pytest.importorskip("onnxruntime")
    utt = sorted(refs)[0]
    result = evaluate_mos({utt: refs[utt]}, None, MosConfig())
    assert 2.5 < result.utts[utt]["dnsmos_ovrl"] < 4.5
    assert result.summary()["dnsmos_ovrl"].ci95 is None
