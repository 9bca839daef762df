"""Tests for lrspeech.data.skips: counts per reason, the JSON record, summing per step."""

import json
import logging

import pytest

from lrspeech.data.skips import Skips, collect_counts, merge_counts, read_counts


def test_counts_summary_and_record(tmp_path, caplog):
    s = Skips()
    s.add("u2", "too_short", "400 samples")
    s.add("u1", "empty", "no audio")
    s.add("u3", "too_short")
    assert len(s) == 3 and "u1" in s and "u9" not in s
    assert s.counts == {"empty": 1, "too_short": 2}
    assert s.summary().startswith("3 skipped (empty 1, too_short 2; u1: empty: no audio; "
                                  "u2: too_short: 400 samples; u3: too_short")
    with caplog.at_level(logging.WARNING):
        s.log("decode dev")
    assert caplog.records[-1].getMessage().startswith("decode dev: 3 skipped")
    data = json.loads(s.write(tmp_path / "skipped.json").read_text())
    assert data == {"skipped": 3, "counts": {"empty": 1, "too_short": 2},
                    "utts": {"u1": "empty: no audio", "u2": "too_short: 400 samples",
                             "u3": "too_short"}}
    assert read_counts(tmp_path / "skipped.json") == {"empty": 1, "too_short": 2}


def test_nothing_skipped_logs_nothing_and_writes_zero(tmp_path, caplog):
    s = Skips()
    with caplog.at_level(logging.WARNING):
        s.log("x")
    assert not caplog.records and s.summary() == "none skipped"
    assert read_counts(s.write(tmp_path / "skipped.json")) == {}


def test_collect_counts_sums_jobs_per_step_and_drops_zero_steps(tmp_path):
    stage = tmp_path / "round1"
    for job, n in ((1, 1), (2, 2)):
        s = Skips()
        for i in range(n):
            s.add(f"u{job}{i}", "too_short")
        s.write(stage / "asr_hyp" / "split" / str(job) / "skipped.json")
    Skips().write(stage / "synth_a" / "split" / "1" / "skipped.json")
    e = Skips()
    e.add("d1", "empty")
    e.write(tmp_path / "eval" / "ir" / "skipped.json")
    counts = collect_counts([stage, tmp_path / "eval", tmp_path / "not_there"])
    assert counts == {"round1/asr_hyp": {"too_short": 3}, "eval/ir": {"empty": 1}}
    assert merge_counts(counts.values()) == {"empty": 1, "too_short": 3}


def test_unreadable_record_names_the_file(tmp_path):
    bad = tmp_path / "skipped.json"
    bad.write_text("{not json")
    with pytest.raises(ValueError, match="skipped.json: cannot read the skip record"):
        read_counts(bad)
    bad.write_text('{"counts": 3}')
    with pytest.raises(ValueError, match="no 'counts' object; rerun the step"):
        read_counts(bad)
