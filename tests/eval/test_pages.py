"""Tests of lrspeech.eval.pages: rendered samples, escaping, linked files."""

from pathlib import Path

import numpy as np

from lrspeech.eval.pages import Sample, html_page, markdown, render_sample, write_images


def test_render_sample_from_real_clip_and_stacked_attention(tmp_path, an4_rows):
    att = np.zeros((2, 4, 30, 5))
    att[1, 2, np.arange(30), np.arange(30) // 6] = 1.0
    np.save(tmp_path / "att.npy", att)
    rs = render_sample("kd", Sample("u1", Path(an4_rows[0]["audio"]), tmp_path / "att.npy", "stop"))
    assert [kind for kind, _ in rs.figures] == ["mel", "attention"]
    assert all(png[:4] == b"\x89PNG" for _, png in rs.figures)
    assert rs.audio[:4] == b"RIFF"
    links = write_images(tmp_path / "out", [rs])
    assert links[0][1] == ["img/kd_u1_mel.png", "img/kd_u1_attention.png"]
    assert (tmp_path / "out" / "img" / "kd_u1_attention.png").is_file()
    assert links[0][2].endswith(Path(an4_rows[0]["audio"]).name)


def test_bad_attention_file_is_skipped(tmp_path, caplog):
    (tmp_path / "att.npy").write_text("not numpy")
    rs = render_sample("s", Sample("u", None, tmp_path / "att.npy"))
    assert rs.figures == [] and "s: sample 'u' attention skipped" in caplog.text


def test_html_escapes_text():
    rs = render_sample("s", Sample("u<1>", None, None, "a <script>alert(1)</script> & b"))
    page = html_page("T & <b>", ["stage"], [["<i>x</i>"]], None, [rs])
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<title>T &amp; &lt;b&gt;</title>" in page and "<td>&lt;i&gt;x&lt;/i&gt;</td>" in page
    md = markdown("T", ["stage"], [["x"]], None, [(rs, [], None)])
    assert "### s: u<1>\n\n> a " in md
