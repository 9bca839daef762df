"""lrspeech's layers import only downwards: top-level helpers < data < text < models <
pipeline = eval < bin.

Every module under lrspeech/ is parsed (not imported), and each `import lrspeech.x` or
`from lrspeech.x import ...` - at the top or inside a function - must name a layer no higher
than the module's own. A lower layer that needs something from a higher one gets it passed
in, or the code moves down.
"""

import ast
from pathlib import Path
from typing import Dict, Iterator, List, Set, Tuple

PACKAGE = Path(__file__).resolve().parents[1] / "lrspeech"

# Top-level modules (lrspeech/errors.py, progress.py, runtime.py, __init__.py) are layer 0.
LAYERS = {"data": 1, "text": 2, "models": 3, "pipeline": 4, "eval": 4, "bin": 5}

# (importing module, imported module) pairs that break the order on purpose.
ALLOWED = {
    # `import lrspeech` installs an import hook that registers lrspeech's models (mixspeech)
    # in ESPnet's registry whenever ESPnet's ASR task module is imported, so that ESPnet's
    # own tools rebuild a MixSpeech checkpoint. The import of models.tasks is deferred to
    # that moment (inside the hook), so `import lrspeech` stays light; the hook has to live
    # in the package's __init__ to run on `import lrspeech`.
    ("lrspeech", "lrspeech.models.tasks"),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def subpackage(module: str) -> str:
    """'data' for lrspeech.data.x; '' for a top-level module (lrspeech, lrspeech.errors)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in LAYERS) else ""


def layer(module: str) -> int:
    return LAYERS.get(subpackage(module), 0)


def imports(path: Path) -> Iterator[Tuple[int, str]]:
    """(line, module) of every lrspeech module the file imports, wherever the import is."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
            if node.module == "lrspeech":  # from lrspeech import data -> lrspeech.data
                names = [f"lrspeech.{a.name}" for a in node.names]
        else:
            continue
        for name in names:
            if name == "lrspeech" or name.startswith("lrspeech."):
                yield node.lineno, name


def all_imports() -> List[Tuple[str, int, str, str]]:
    """(file, line, importer, imported) for every lrspeech import in the package."""
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        importer = module_name(path)
        for line, imported in imports(path):
            out.append((str(path.relative_to(PACKAGE.parent)), line, importer, imported))
    return out


def test_layers_import_only_downwards() -> None:
    found = all_imports()
    assert len(found) > 100  # the walk saw the package
    upward = [f"{file}:{line}: {importer} (layer {layer(importer)}) imports {imported} "
              f"(layer {layer(imported)})"
              for file, line, importer, imported in found
              if layer(imported) > layer(importer) and (importer, imported) not in ALLOWED]
    assert upward == []


def test_allow_list_is_still_needed() -> None:
    """An allowed exception that no longer exists is removed from ALLOWED."""
    pairs = {(importer, imported) for _, _, importer, imported in all_imports()}
    assert ALLOWED <= pairs


def test_no_cycle_between_subpackages() -> None:
    """pipeline and eval share a layer; they may not import each other both ways."""
    edges: Dict[str, Set[str]] = {}
    for _, _, importer, imported in all_imports():
        a, b = subpackage(importer), subpackage(imported)
        if a and b and a != b:
            edges.setdefault(a, set()).add(b)
    both_ways = sorted((a, b) for a in edges for b in edges[a] if a in edges.get(b, set()))
    assert both_ways == []


def test_layer_of() -> None:
    assert [layer(m) for m in ("lrspeech", "lrspeech.errors", "lrspeech.data.datadir",
                               "lrspeech.text", "lrspeech.models.tasks", "lrspeech.eval.ir",
                               "lrspeech.pipeline.lm", "lrspeech.bin.score_asr")] == [
        0, 0, 1, 2, 3, 4, 4, 5]
