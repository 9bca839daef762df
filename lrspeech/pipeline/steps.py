"""Recipe steps declared once (inputs, upstream steps, outputs) with chained completion markers.

Usage: python -m lrspeech.bin.stage_marker begin --dir exp --name s --outputs out --inputs setup.cfg

A step's marker (`<dir>/.done/<name>.json`, lrspeech.pipeline.stages) records one fingerprint
over its inputs (file content, values) and the fingerprints of the upstream steps it names
(`after`). Hence:

- a changed input reruns the step and, since its fingerprint then changes, every step after it;
- a rerun with the same inputs skips the step while its outputs exist;
- before a step runs, its marker is removed and its outputs are deleted, so it never builds on
  what an older run left; with `resume`, outputs are kept when the interrupted run had the same
  fingerprint (ESPnet training resumes from its last checkpoint), and deleted otherwise;
- in a dry run nothing runs and nothing is deleted: each step says whether it would run and why,
  and a step that would run hands its would-be fingerprint (`.done/<name>.plan`) to the steps
  after it, so they say so too.

`begin` records the fingerprint it computed in `.done/<name>.pending`; `end` turns that into the
marker once the step's work succeeded. The marker also keeps each input's own fingerprint, so a
later run can name the inputs that changed.
"""

import hashlib
import json
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from lrspeech.data.atomic import atomic_write_text
from lrspeech.errors import LrspeechError
from lrspeech.pipeline.stages import (
    PathLike,
    clear_done,
    inputs_fingerprint,
    mark_done,
    marker_path,
    read_marker,
)

PENDING_SUFFIX = ".pending"
NAMED_VALUE = re.compile(r"value:[A-Za-z_][A-Za-z0-9_]*=")
PLAN_SUFFIX = ".plan"


class StepError(LrspeechError, RuntimeError):
    """A step used out of order (end without begin) or declared wrongly."""


@dataclass(frozen=True)
class Step:
    """One recipe step: marker dir, name, inputs (paths or plain values), upstream step names
    and the outputs it (re)creates."""

    dir: Path
    name: str
    inputs: Sequence[str] = ()
    after: Sequence[str] = ()
    outputs: Sequence[str] = ()


@dataclass
class Decision:
    """What `begin` decided: run (or would run, in a dry run) and why, in words."""

    run: bool
    reason: str
    fingerprint: str = ""
    changed: List[str] = field(default_factory=list)


def _side_file(dir: PathLike, name: str, suffix: str) -> Path:
    return marker_path(dir, name).with_suffix(suffix)


def _read_json(path: Path) -> Optional[Dict]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: Dict) -> None:
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def upstream_fingerprint(dir: PathLike, name: str, plan: bool = False) -> Optional[str]:
    """The fingerprint step `name` completed with (in a dry run: the one it would run with),
    or None when it never completed."""
    if plan:
        planned = _read_json(_side_file(dir, name, PLAN_SUFFIX))
        if planned is not None:
            return planned.get("fingerprint")
    marker = read_marker(dir, name)
    return None if marker is None else marker.get("fingerprint")


def _input_fingerprint(value: str) -> str:
    """An existing path: its content (a dir: every file in it); anything else: the text itself
    (an option's value, or a path that does not exist, which changes once it does)."""
    if value and os.path.exists(value):
        return inputs_fingerprint([value])
    return hashlib.sha256(f"value={value}".encode()).hexdigest()


def input_parts(step: Step, plan: bool = False) -> Dict[str, str]:
    """One fingerprint per input (`in:<position>`) and per upstream step (`after:<name>`)."""
    parts = {f"in:{i}": _input_fingerprint(value) for i, value in enumerate(step.inputs)}
    for up in step.after:
        parts[f"after:{up}"] = upstream_fingerprint(step.dir, up, plan) or "never completed"
    return parts


def fingerprint_of(parts: Dict[str, str]) -> str:
    """One SHA-256 over the parts, in their order."""
    h = hashlib.sha256()
    for key, value in parts.items():
        h.update(f"{key}={value}\n".encode())
    return h.hexdigest()


def _changed(old: Dict[str, str], new: Dict[str, str], old_inputs: Sequence[str],
             inputs: Sequence[str]) -> List[str]:
    """The changed inputs (as declared now) and upstream steps, then inputs no longer given.
    Inputs are matched by what they name (a marker records its input list beside their
    fingerprints), so that one input added or dropped does not make every later one look
    changed; an input whose text changed in place (an option's new value) replaces the old."""
    def label(text: str) -> str:  # a named option `value:NAME=VALUE` shows as NAME=VALUE
        return text[6:] if NAMED_VALUE.match(text) else text

    def by_text(parts: Dict[str, str], names: Sequence[str]) -> Dict[str, Optional[str]]:
        return {t: parts.get(f"in:{i}") for i, t in enumerate(names)}

    was, now = by_text(old, old_inputs), by_text(new, inputs)
    replaced = {old_inputs[i] for i, t in enumerate(inputs)
                if t not in was and i < len(old_inputs) and old_inputs[i] not in now}
    return [label(t) for t, v in now.items() if was.get(t) != v] + \
        [k for k in new if not k.startswith("in:") and old.get(k) != new[k]] + \
        [f"{label(t)} (no longer given)" for t in was if t not in now and t not in replaced] + \
        [f"{k} (no longer given)" for k in old if not k.startswith("in:") and k not in new]


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif os.path.lexists(path):
        path.unlink()


def _missing_outputs(step: Step) -> List[str]:
    return [out for out in step.outputs if not os.path.lexists(out)]


def decide(step: Step, force: bool = False, plan: bool = False) -> Decision:
    """Whether `step` must run, and why; changes nothing on disk."""
    if not step.name:
        raise StepError("a step needs a name")
    parts = input_parts(step, plan)
    fp = fingerprint_of(parts)
    marker = read_marker(step.dir, step.name)
    if force:
        return Decision(True, "--force", fp)
    if marker is None:
        return Decision(True, "never completed", fp)
    if marker.get("fingerprint") != fp:
        info = marker.get("info", {})
        changed = _changed(info.get("parts", {}), parts, info.get("inputs", []), step.inputs)
        more = f" and {len(changed) - 4} more" if len(changed) > 4 else ""
        shown = ", ".join(changed[:4]) + more
        return Decision(True, f"changed since it ran: {shown or 'its declaration'}", fp, changed)
    missing = _missing_outputs(step)
    if missing:
        return Decision(True, f"outputs missing: {', '.join(missing)}", fp)
    return Decision(False, "complete", fp)


def begin(step: Step, force: bool = False, resume: bool = False,
          dry_run: bool = False) -> Decision:
    """Decide whether `step` runs; if so (and not a dry run) clear its marker and outputs
    (kept under `resume` when an interrupted run had the same fingerprint) and record the
    fingerprint for `end`. A dry run only records the would-be fingerprint for later steps."""
    decision = decide(step, force, plan=dry_run)
    plan_file = _side_file(step.dir, step.name, PLAN_SUFFIX)
    if dry_run:
        if decision.run:
            _write_json(plan_file, {"fingerprint": decision.fingerprint})
        elif plan_file.exists():
            plan_file.unlink()
        return decision
    if not decision.run:
        return decision
    pending_file = _side_file(step.dir, step.name, PENDING_SUFFIX)
    pending = _read_json(pending_file)
    keep = (resume and not force and read_marker(step.dir, step.name) is None
            and pending is not None and pending.get("fingerprint") == decision.fingerprint)
    clear_done(step.dir, step.name)
    if keep:
        decision.reason += "; resuming the interrupted run"
    else:
        for out in step.outputs:
            _remove(Path(out))
    _write_json(pending_file, {
        "fingerprint": decision.fingerprint, "parts": input_parts(step),
        "inputs": list(step.inputs), "after": list(step.after), "outputs": list(step.outputs),
        "begun": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "started": time.time(),
    })
    return decision


def end(dir: PathLike, name: str, command: Optional[str] = None) -> Path:
    """Mark step `name` complete with the fingerprint its `begin` recorded."""
    pending_file = _side_file(dir, name, PENDING_SUFFIX)
    pending = _read_json(pending_file)
    if pending is None:
        raise StepError(f"step {name!r}: no {pending_file} (end without begin); "
                        "call begin before the step's work and end after it")
    info = {key: pending[key] for key in ("parts", "inputs", "after", "outputs") if key in pending}
    if "started" in pending:  # wall time of the run that completed it (since its last begin)
        info["seconds"] = round(time.time() - float(pending["started"]), 1)
    path = mark_done(dir, name, info, fingerprint=pending["fingerprint"], command=command)
    pending_file.unlink()
    return path


def clear_plans(dir: PathLike) -> int:
    """Remove every `.plan` file under `<dir>/.done` (before a dry run); return how many."""
    plans = list(marker_path(dir, "x").parent.glob(f"*{PLAN_SUFFIX}"))
    for path in plans:
        path.unlink()
    return len(plans)


def step_seconds(dir: PathLike) -> Dict[str, float]:
    """Step name -> wall seconds of the run that completed it, for every marker under
    `<dir>/.done` that records one (benchmarks sum them per row)."""
    out: Dict[str, float] = {}
    for path in sorted(marker_path(dir, "x").parent.glob("*.json")):
        record = _read_json(path)
        seconds = ((record or {}).get("info") or {}).get("seconds")
        if seconds is not None:
            out[str(record.get("name", path.stem))] = float(seconds)
    return out
