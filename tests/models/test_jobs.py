"""Tests for lrspeech.models.jobs: job shares, worker parts, throughput figures."""

import pytest

from lrspeech.models.jobs import InferenceError, Throughput, job_share, split_parts


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


def test_throughput_figures():
    took = Throughput(utterances=4, seconds=2.0, compute_seconds=1.0, audio_seconds=10.0)
    assert took.utts_per_second == 2.0 and took.rtf == 0.1
    assert "2.00 utt/s; RTF 0.100" in took.summary()
