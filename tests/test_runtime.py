"""lrspeech.runtime: thread limits and deferred imports."""

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lrspeech.runtime import defer_import

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A package whose import leaves a trace in a log file: pkg/__init__.py and pkg/sub.py."""
    pkg = tmp_path / "deferred_pkg"
    pkg.mkdir()
    log = tmp_path / "imports.log"
    for name, body in (("__init__", "from deferred_pkg import sub\nVALUE = sub.TWICE // 2\n"),
                       ("sub", "TWICE = 42\n")):
        trace = f"open({str(log)!r}, 'a').write({name!r} + '\\n')\n"
        (pkg / f"{name}.py").write_text(trace + body)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield log
    for name in ("deferred_pkg", "deferred_pkg.sub"):
        sys.modules.pop(name, None)


def test_deferred_package_runs_on_first_public_attribute(package):
    assert defer_import("deferred_pkg") and defer_import("deferred_pkg.sub")
    import deferred_pkg
    import deferred_pkg.sub  # noqa: F401 - both already in sys.modules: nothing runs

    assert deferred_pkg.__file__.endswith("__init__.py") and deferred_pkg.__spec__ is not None
    assert not package.exists()  # dunder attributes do not run the module
    assert deferred_pkg.VALUE == 21
    assert package.read_text().split() == ["__init__", "sub"]
    assert type(deferred_pkg) is type(sys)  # a plain module from now on
    assert deferred_pkg.sub.TWICE == 42 and package.read_text().split() == ["__init__", "sub"]


def test_defer_import_leaves_loaded_and_missing_modules_alone(package):
    import deferred_pkg

    assert deferred_pkg.VALUE == 21
    assert defer_import("deferred_pkg") is False and sys.modules["deferred_pkg"] is deferred_pkg
    assert defer_import("no_such_module_here") is False and "no_such_module_here" not in sys.modules


@pytest.mark.slow
def test_importing_espnet_through_lrspeech_skips_english_text_tools():
    """ESPnet's task modules import g2p_en and tacotron_cleaner at the top (inflect and nltk,
    several seconds); after `import lrspeech` they load only when used."""
    code = textwrap.dedent("""
        import sys
        import lrspeech, espnet2.tasks.asr, espnet2.tasks.tts
        print(sorted(m for m in ("inflect", "nltk") if m in sys.modules))
        from espnet2.text.cleaner import TextCleaner
        print(TextCleaner("tacotron")("dr. smith paid $12"), "inflect" in sys.modules)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO,
                         check=True).stdout.splitlines()
    assert out[-2:] == ["[]", "DOCTOR SMITH PAID TWELVE DOLLARS True"]  # ESPnet prints first
