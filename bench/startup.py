"""Benchmark: the start-up cost of a process that imports ESPnet's task modules (every training,
decoding, synthesis and evaluation step of the recipe is such a process).

Usage: python bench/startup.py [--repeats 5] [--out /tmp/startup.json]

Three variants, run in turn in every repeat (the order rotates) so that load drift hits all:
1. source: no usable .pyc files (an empty PYTHONPYCACHEPREFIX and PYTHONDONTWRITEBYTECODE=1),
   what each process paid before utils/install.sh compiled site-packages;
2. bytecode: the installed .pyc files, `import espnet2.tasks.asr, espnet2.tasks.tts` as is;
3. lrspeech: the installed .pyc files and `import lrspeech` first, which defers g2p_en and
   tacotron_cleaner (inflect, nltk), as every lrspeech CLI does.
Printed: the median wall time of each variant (interpreter start included), its ratio to
`source`, and which of the deferred dependencies each variant loaded.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

REPO = Path(__file__).resolve().parents[1]
PY = str(REPO / ".venv" / "bin" / "python") if (REPO / ".venv" / "bin" / "python").exists() \
    else sys.executable
HEAVY = ("inflect", "nltk", "g2p_en.g2p")
VARIANTS = ("source", "bytecode", "lrspeech")


def probe_code(first: str) -> str:
    """Python code that imports the task modules and prints which heavy modules got loaded."""
    return (f"{first}import sys, json, espnet2.tasks.asr, espnet2.tasks.tts\n"
            f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))\n")


def run_variant(variant: str, empty_cache: Path) -> Dict[str, object]:
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    if variant == "source":
        env.update(PYTHONPYCACHEPREFIX=str(empty_cache), PYTHONDONTWRITEBYTECODE="1")
    first = "import lrspeech\n" if variant == "lrspeech" else ""
    t0 = time.perf_counter()
    res = subprocess.run([PY, "-c", probe_code(first)], capture_output=True, text=True, env=env,
                         cwd=REPO)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"{variant}: the import failed:\n{res.stderr[-2000:]}")
    return {"seconds": wall, "loaded": json.loads(res.stdout.strip().splitlines()[-1])}


def measure(repeats: int) -> Dict[str, Dict[str, object]]:
    runs: Dict[str, List[Dict[str, object]]] = {v: [] for v in VARIANTS}
    with tempfile.TemporaryDirectory(prefix="lrspeech-nopyc-") as empty:
        for i in range(repeats):
            order = VARIANTS[i % 3:] + VARIANTS[: i % 3]
            for v in order:
                runs[v].append(run_variant(v, Path(empty)))
                print(f"repeat {i + 1}/{repeats} {v}: {runs[v][-1]['seconds']:.1f} s",
                      file=sys.stderr)
    out: Dict[str, Dict[str, object]] = {}
    for v in VARIANTS:
        secs = [float(r["seconds"]) for r in runs[v]]
        out[v] = {"median_s": statistics.median(secs), "runs_s": secs,
                  "loaded": runs[v][-1]["loaded"]}
    base = float(out["source"]["median_s"])
    for v in VARIANTS:
        out[v]["ratio_to_source"] = float(out[v]["median_s"]) / base
    return out


def table(result: Dict[str, Dict[str, object]]) -> str:
    lines = ["| variant | median wall (s) | ratio to source | deferred modules loaded |",
             "|---|---|---|---|"]
    for v in VARIANTS:
        r = result[v]
        loaded = ", ".join(r["loaded"]) or "none"  # type: ignore[arg-type]
        lines.append(f"| {v} | {r['median_s']:.1f} | {r['ratio_to_source']:.2f} | {loaded} |")
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeats", type=int, default=5, help="runs of each variant")
    p.add_argument("--out", type=Path, default=None, help="write the figures as JSON here")
    a = p.parse_args(argv)
    if a.repeats < 1:
        p.error("--repeats must be at least 1")
    result = measure(a.repeats)
    print(table(result), end="")
    if a.out is not None:
        a.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
