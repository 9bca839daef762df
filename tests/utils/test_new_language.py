"""Scaffold a language espeak-ng lacks (Yoruba, tone marks) and run recipe stages 1-3 on it."""

import csv
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NEW = REPO / "utils" / "new_language.sh"
# Made-up Yoruba transcripts for real (Swahili) clips: only the text frontend is under test.
YORUBA = [
    "Ẹ káàárọ̀, ṣé dáadáa ni?",
    "Mo fẹ́ràn oúnjẹ ìbílẹ̀.",
    "Ọjà náà kún fún ènìyàn.",
    "Òjò ń rọ̀ lónìí.",
    "Ilé ìwé wa tóbi.",
    "Ẹ ṣé púpọ̀, ọ̀rẹ́ mi.",
]
SENTENCES = ["Àwọn ọmọdé ń ṣeré.", "Ọ̀rọ̀ yìí dára.", "Bàbá mi ń ṣiṣẹ́ lóko.", "Ìyá ń se oúnjẹ."]


def run(cmd, cwd=None, check=True, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(c) for c in cmd], cwd=cwd, capture_output=True, text=True, check=check, env=env
    )


def test_refuses_missing_voice_and_existing_dir(tmp_path: Path) -> None:
    res = run([NEW, "yoruba", "--iso", "yo", "--egs", tmp_path], check=False)
    assert (
        res.returncode == 1
        and "espeak-ng has no voice 'yo'" in res.stderr
        and "--no-espeak" in res.stderr
    )
    run([NEW, "yoruba", "--iso", "yo", "--no-espeak", "--egs", tmp_path])
    res = run([NEW, "yoruba", "--iso", "yo", "--no-espeak", "--egs", tmp_path], check=False)
    assert res.returncode == 1 and "exists" in res.stderr
    res = run([NEW, "yoruba"], check=False)
    assert res.returncode == 1 and "--iso" in res.stderr


def test_unicode_form_nfd_goes_into_the_lang_config(tmp_path: Path) -> None:
    from lrspeech.text.lang import LangConfig
    from lrspeech.text.tokenizer import Tokenizer

    run([NEW, "yoruba", "--iso", "yo", "--no-espeak", "--unicode_form", "NFD", "--egs", tmp_path])
    run([NEW, "igbo", "--iso", "ig", "--no-espeak", "--egs", tmp_path])
    nfd = LangConfig.load(tmp_path / "yoruba" / "lr1" / "conf" / "lang.yaml")
    nfc = LangConfig.load(tmp_path / "igbo" / "lr1" / "conf" / "lang.yaml")
    assert (nfd.unicode_form, nfc.unicode_form) == ("NFD", "NFC")  # NFC is the default
    assert Tokenizer(nfd).tokenize("Ọmọ ń sùn") == [
        "o", "\u0323", "m", "o", "\u0323", "<space>", "n", "\u0301", "<space>",
        "s", "u", "\u0300", "n"]
    res = run([NEW, "hausa", "--iso", "ha", "--no-espeak", "--unicode_form", "NFKC",
               "--egs", tmp_path], check=False)
    assert res.returncode == 1 and "--unicode_form 'NFKC': give NFC or NFD" in res.stderr
    assert not (tmp_path / "hausa").exists()


def test_data_sh_never_pairs_clips_longer_than_max_paired_dur(
    tmp_path: Path, test_data: Path
) -> None:
    run([NEW, "yoruba", "--iso", "yo", "--no-espeak", "--egs", tmp_path])
    recipe = tmp_path / "yoruba" / "lr1"
    rows = list(csv.DictReader(open(test_data / "sw" / "metadata.tsv"), delimiter="\t"))
    train = [r for r in rows if r["split"] == "train"]
    long_ids = {r["id"] for r in train[:6]}  # said to last 20 s: over the recipe's --max_dur 16
    with open(recipe / "db" / "metadata.tsv", "w", encoding="utf-8") as f:
        f.write("id\taudio\ttext\tspeaker\tduration_s\tsplit\n")
        for r in rows:
            dur = "20.0" if r["id"] in long_ids else r["duration_s"]
            f.write(f"{r['id']}\t{test_data / 'sw' / r['audio']}\t{r['text']}\tyo_a\t{dur}\t"
                    f"{r['split']}\n")
    (recipe / "db" / "text.tsv").write_text("v1\tỌmọ náà ń sùn.\n", encoding="utf-8")
    for out, opts in (("data", []), ("data_any", ["--max_paired_dur", "0"])):
        run([recipe / "local" / "data.sh", "--n_paired", "4", *opts, "--out", out], cwd=recipe)
    paired = [ln.split()[0] for ln in (recipe / "data" / "paired_hq" / "utt2spk").open()]
    assert len(paired) == 4 and not {u.split("-", 1)[1] for u in paired} & long_ids
    any_len = [ln.split()[0] for ln in (recipe / "data_any" / "paired_hq" / "utt2spk").open()]
    assert {u.split("-", 1)[1] for u in any_len} & long_ids  # 0: the limit is off
    # lr.sh hands its --max_dur down as the default (LRSPEECH_MAX_DUR): 25 s lets them in.
    run([recipe / "local" / "data.sh", "--n_paired", "4", "--out", "data_25"], cwd=recipe,
        env={**os.environ, "LRSPEECH_MAX_DUR": "25"})
    lax = [ln.split()[0] for ln in (recipe / "data_25" / "paired_hq" / "utt2spk").open()]
    assert {u.split("-", 1)[1] for u in lax} & long_ids


def make_corpus(db: Path, test_data: Path) -> None:
    rows = list(csv.DictReader(open(test_data / "sw" / "metadata.tsv"), delimiter="\t"))
    rows = [r for r in rows if r["split"] == "train"][:4] + [
        r for r in rows if r["split"] == "val"
    ][:2]
    (db / "flac").mkdir(parents=True)
    with open(db / "metadata.tsv", "w", encoding="utf-8") as f:
        f.write("id\taudio\ttext\tspeaker\tduration_s\tsplit\n")
        for r, text in zip(rows, YORUBA):
            shutil.copy(test_data / "sw" / r["audio"], db / r["audio"])
            f.write(f"{r['id']}\t{r['audio']}\t{text}\tyo_a\t{r['duration_s']}\t{r['split']}\n")
    (db / "text.tsv").write_text(
        "".join(f"v{i}\t{s}\n" for i, s in enumerate(SENTENCES)), encoding="utf-8"
    )


@pytest.mark.slow
def test_grapheme_language_runs_stages_1_to_3(tmp_path: Path, test_data: Path) -> None:
    run([NEW, "yoruba", "--iso", "yo", "--no-espeak", "--egs", tmp_path])
    recipe = tmp_path / "yoruba" / "lr1"
    assert "espeak_voice: none" in (recipe / "conf" / "lang.yaml").read_text()
    make_corpus(recipe / "db", test_data)
    opts = [
        "--stage",
        "1",
        "--stop_stage",
        "3",
        "--nj",
        "1",
        "--local_data_opts",
        "--n_paired 2",
        "--rich_num_utts",
        "12",
        "--rich_num_speakers",
        "2",
    ]
    res = run([recipe / "run.sh", *opts], cwd=recipe, check=False)
    assert res.returncode == 0, res.stderr[-3000:]
    tokens = (
        (recipe / "dump" / "token" / "target_tts_tokens.txt").read_text(encoding="utf-8").split()
    )
    assert {"ẹ́", "ọ̀", "à", "ṣ"} <= set(tokens)  # tone marks stay on their letter
    mapping = dict(
        line.split("\t")[:2]
        for line in (recipe / "dump" / "token" / "token_map_tts.tsv")
        .read_text(encoding="utf-8")
        .splitlines()
    )
    assert mapping["à"] == "a" and mapping["ẹ́"] == "e"
    assert len((recipe / "dump" / "raw" / "paired_hq" / "wav.scp").read_text().splitlines()) == 2
    res = run([recipe / "run.sh", *opts], cwd=recipe)
    assert res.stderr.count("complete; skipped") >= 3  # a rerun redoes nothing


TUTORIAL = REPO / "docs" / "tutorial.md"
WALK = "<!-- walk -->"


def walk_blocks(text: str) -> list:
    """(commands, expected lines) of each `<!-- walk -->` bash block of the tutorial, the
    expected lines from the text block right after it (none if there is none)."""
    blocks = []
    for part in text.split(WALK)[1:]:
        lines = part.strip("\n").splitlines()
        assert lines[0] == "```bash", f"{WALK} must precede a bash block, not {lines[0]!r}"
        end = lines.index("```", 1)
        commands, rest = lines[1:end], lines[end + 1:]
        while rest and not rest[0].strip():
            rest = rest[1:]
        expected = []
        if rest and rest[0] == "```text":
            expected = rest[1:rest.index("```", 1)]
        blocks.append((commands, expected))
    return blocks


def matches(expected: str, line: str) -> bool:
    """`[...]` stands for any text (a log prefix, the rest of a long line)."""
    pattern = ".*".join(re.escape(p) for p in expected.split("[...]"))
    return re.fullmatch(pattern, line.rstrip()) is not None


def check_in_order(expected: list, output: list) -> None:
    pos = 0
    for want in expected:
        found = next((i for i in range(pos, len(output)) if matches(want, output[i])), None)
        assert found is not None, f"tutorial line not printed (in order): {want!r}\n" + \
            "\n".join(output[pos:pos + 60])
        pos = found + 1


def test_walk_blocks_parse() -> None:
    doc = "x\n<!-- walk -->\n```bash\necho a\n```\n\n```text\n[...] a\n```\n" \
          "<!-- walk -->\n```bash\ntrue\n```\nno output\n"
    assert walk_blocks(doc) == [(["echo a"], ["[...] a"]), (["true"], [])]
    assert matches("[...] Stage 1: Data", "2026-01-02T10:00:00 [stage 1] (lr.sh:9) Stage 1: Data")
    assert not matches("[...] Stage 1: Data", "... Stage 1: Data preparation")
    assert matches("n: 4 of 9 kept; e.g. a [...]", "n: 4 of 9 kept; e.g. a 'x'; b 'y'")
    with pytest.raises(AssertionError, match="not printed"):
        check_in_order(["b", "a"], ["a", "b"])


@pytest.mark.slow
def test_tutorial_walk_prints_what_the_tutorial_quotes(tmp_path: Path) -> None:
    """docs/tutorial.md's new-language walk, its commands as written (the recipe goes under
    a temporary --egs instead of the repository's egs/), prints the lines it quotes."""
    egs = tmp_path / "egs"
    blocks = walk_blocks(TUTORIAL.read_text(encoding="utf-8"))
    assert len(blocks) >= 4
    script = ["set -euo pipefail"]
    for i, (commands, _) in enumerate(blocks):
        script.append(f"echo '@@block {i}@@'")
        for cmd in commands:
            cmd = cmd.replace("egs/mylang/", f"{egs}/mylang/")
            if cmd.startswith("utils/new_language.sh "):
                cmd += f" --egs {egs}"
            script.append(cmd)
    res = subprocess.run(["bash", "-c", "\n".join(script)], cwd=REPO, text=True,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert res.returncode == 0, res.stdout[-4000:]
    outputs = re.split(r"^@@block \d+@@\n", res.stdout, flags=re.MULTILINE)[1:]
    assert len(outputs) == len(blocks)
    for (_, expected), output in zip(blocks, outputs):
        expected = [e.replace("<repo>/egs/", f"{egs}/") for e in expected]
        check_in_order(expected, output.splitlines())
    assert sum(len(e) for _, e in blocks) >= 15
