"""The parser and help layout every ``visrec`` command shares.

* No abbreviated options: argparse takes ``--seed`` for ``--seeds`` when it is the only
  option that starts so, and ``visrec evaluate --seed 42`` ran 42 seeds without a word.
* An unknown option gets a hint: the option of the same meaning under the name this
  command uses (``--n`` here, ``--k`` there), or the closest spelling.
* Descriptions and epilogs keep their line breaks and indented examples, but a
  paragraph written as one long line (most descriptions) is wrapped to the width.

The leading underscore keeps this module out of ``visrec.cli.COMMAND_MODULES``.
"""

from __future__ import annotations

import argparse
import difflib
import textwrap
from collections.abc import Sequence
from typing import Any

# An option another command has, and what this command calls the same thing: the hint
# applies where the command has the option the hint names.
SAME_MEANING: dict[str, list[tuple[str, str]]] = {
    "--seed": [("--seeds", "--seeds N is how many split seeds to run, 0..N-1")],
    "--n": [("--k", "--k K is the list length of Recall@K and NDCG@K here")],
    "--k": [
        ("--n", "--n N is the list length here"),
    ],
    "--batch-size": [("--batch-users", "--batch-users N is the users scored at a time here")],
    "--batch-users": [("--batch-size", "--batch-size N is the users scored at a time here")],
    "--out": [("-o", "-o is the output here")],
    "--output": [("-o", "-o is the output here")],
    "-o": [("--out", "--out DIR is the output folder here")],
}


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """A description or epilog as written (laid-out paragraphs and indented examples
    stay as they are), except that a paragraph written as one line of prose longer than
    the width (most descriptions) is wrapped to it."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines = text.splitlines()
        out: list[str] = []
        for k, line in enumerate(lines):
            alone = (k == 0 or not lines[k - 1].strip()) and (
                k == len(lines) - 1 or not lines[k + 1].strip()
            )
            if alone and not line[:1].isspace() and len(indent) + len(line) > width:
                out.extend(
                    textwrap.wrap(
                        line,
                        width=max(20, width),
                        initial_indent=indent,
                        subsequent_indent=indent,
                        break_on_hyphens=False,
                        break_long_words=False,
                    )
                )
            else:
                out.append(indent + line)
        return "\n".join(out)


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` without abbreviations; see the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def unknown_options(self, extra: Sequence[str]) -> None:
        """Exit with the usage and 'unrecognized arguments', plus a hint per unknown
        option: what this command calls that, or the closest spelling."""
        hints = [h for h in (self.hint(a) for a in extra if a.startswith("-")) if h]
        message = f"unrecognized arguments: {' '.join(extra)}"
        if hints:
            message += "; " + "; ".join(dict.fromkeys(hints))
        self.error(message)

    def hint(self, arg: str) -> str | None:
        """What to use instead of the unknown option ``arg``, or None."""
        name = arg.split("=", 1)[0]
        own = [s for a in self._actions for s in a.option_strings]
        for option, text in SAME_MEANING.get(name, []):
            if option in own:
                return text
        close = difflib.get_close_matches(name, [s for s in own if s.startswith("--")], n=1)
        return f"did you mean {close[0]}?" if close else None
