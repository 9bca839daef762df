"""The base of lrspeech's own errors, importable from every layer (data, text, models, ...).

Usage: python -c "from lrspeech.errors import InputError; print(InputError('x').__mro__[1])"

Why one base: a command-line tool catches `LrspeechError` (and `OSError` for the files it
opens) and prints its message on one line: those are problems of the user's data, options or
models, and the message names the file and the fix. Anything else (a KeyError in our own
code, a bug in a dependency) is not caught and shows its traceback. Each error class keeps
the builtin base it had before (`class TokenMapError(LrspeechError, ValueError)`), so callers
that catch ValueError still work.
"""


class LrspeechError(Exception):
    """A problem of the user's input (files, options, settings, models); never a bug."""


class InputError(LrspeechError, ValueError):
    """Bad user input where the module has no more specific error class."""
