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
import sys
import textwrap
from collections.abc import Sequence
from typing import Any, NoReturn

# What a command calls something another command names otherwise: command -> the
# option typed -> the hint (each hint names an option the command has; a test checks).
SAME_MEANING: dict[str, dict[str, str]] = {
    "evaluate": {
        "--seed": "--seeds N is how many split seeds to run; --random-state S is the first",
        "--first-seed": "--random-state S is the first seed here",
        "--n": "--k K is the list length of Recall@K and NDCG@K here",
        "--out": "--json OUT and --report HTML are the outputs here",
    },
    "rating-eval": {
        "--seed": "--seeds N is how many splits to run; --random-state S seeds the first",
        "--first-seed": "--random-state S is the first seed here",
        "--n": "--k K is the number of KNN neighbours here",
        "--neighbors": "--k K is the number of KNN neighbours here",
        "--neighbours": "--k K is the number of KNN neighbours here",
    },
    "knn-rating": {
        "--n": "--k K is the number of neighbours here",
        "--neighbors": "--k K is the number of neighbours here",
        "--neighbours": "--k K is the number of neighbours here",
    },
    "cluster": {
        "--n": "--k K is the number of clusters here",
        "--n-clusters": "--k K is the number of clusters here",
        "--clusters": "--k K is the number of clusters here",
    },
    "recommend": {
        "--k": "--n N is the list length here",
        "--batch-size": "--batch-users N is the users scored at a time here",
        "--seed": "the model's seed is set at training: visrec train --seed S",
    },
    "similar": {"--k": "--n N is the number of neighbours here"},
    "train": {
        "--seeds": "--seed S is the model's seed here",
        "--random-state": "--seed S is the model's seed (its random_state) here",
    },
    "demo": {
        "-o": "--out OUT is the output folder here",
        "--output": "--out OUT is the output folder here",
        "--seeds": "--seed S is the demo's seed here",
        "--random-state": "--seed S is the demo's seed (its random_state) here",
    },
}
for _command in ("train", "recommend", "embed", "report"):
    SAME_MEANING.setdefault(_command, {})["--out"] = "-o is the output here"
# commands whose results are a table on stdout, kept with --json (and --report)
for _command, _hint in (
    ("evaluate", "--json OUT and --report HTML are the outputs here"),
    ("knn-rating", "--json OUT and --report HTML are the outputs here"),
    ("rating-eval", "--json OUT and --report HTML are the outputs here"),
    ("cluster", "--json OUT and --report HTML are the outputs here"),
    ("similar", "--json OUT and --report HTML are the outputs here"),
    ("summary", "--json OUT is the output here (the summary itself goes to stdout)"),
):
    for _name in ("-o", "--output", "--out"):
        SAME_MEANING.setdefault(_command, {})[_name] = _hint
# demo runs K-means and the rating KNN, so it names the KNN's k apart; scikit-learn
# calls it n_neighbors
for _command in ("knn-rating", "rating-eval"):
    for _name in ("--knn-k", "--n-neighbors", "--n-neighbours"):
        SAME_MEANING[_command][_name] = "--k K is the number of KNN neighbours here"
# other tools' names for the list length and the held-out share
for _command, _hint in (
    ("recommend", "--n N is the list length here"),
    ("similar", "--n N is the number of neighbours here"),
    ("evaluate", "--k K is the list length of Recall@K and NDCG@K here"),
):
    for _name in ("--top", "--top-k", "--topk", "--top-n", "--topn"):
        SAME_MEANING[_command][_name] = _hint
for _command in ("knn-rating", "rating-eval"):
    SAME_MEANING[_command]["--test-ratio"] = "--test-size F is the held-out share here"
# ONNX Runtime or PyTorch is the engine; --backbone is the network
for _name in ("--backend", "--runtime"):
    SAME_MEANING["embed"][_name] = "--engine auto|onnx|torch|ray is the runtime here"
# cluster and similar read an item table, whose id column is --id-col; the interactions
# commands name the item column of their file --item-col (difflib offered --time-col)
for _command in ("train", "evaluate", "knn-rating", "rating-eval", "summary"):
    for _name in ("--id-col", "--item-id-col"):
        SAME_MEANING[_command][_name] = "--item-col NAME is the item id column here"
SAME_MEANING["recommend"]["--n-items"] = "--n N is the list length here"
# train's --model is a recommender; the network that embeds is the backbone
for _command in ("embed", "demo"):
    SAME_MEANING[_command]["--model"] = "--backbone NAME is the network that embeds here"
SAME_MEANING["embed"]["--no-resume"] = (
    "embed always reuses the finished chunks in OUT.parts: to embed every image again, "
    "delete OUT and OUT.parts, or give another -o"
)
#: commands whose models take hyperparameters through --param, and how
PARAM_FORM = {"train": "--param {name}=VALUE", "evaluate": "--param MODEL.{name}=VALUE"}


#: in a help text, the names of the models (backbones) known here, written in when the
#: help is shown: an installed package's included, read only then (not each time the
#: parser is built, which every command does)
MODEL_NAMES = "%(models)s"
BACKBONE_NAMES = "%(backbones)s"


def with_names(text: str) -> str:
    """``text`` with :data:`MODEL_NAMES` and :data:`BACKBONE_NAMES` replaced by the
    known names."""
    if MODEL_NAMES in text:
        from visrec.models.registry import model_names

        text = text.replace(MODEL_NAMES, ", ".join(model_names()))
    if BACKBONE_NAMES in text:
        from visrec.embed.backbones import list_backbones

        text = text.replace(BACKBONE_NAMES, ", ".join(list_backbones()))
    return text


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """A description or epilog as written (indented examples and tables stay as they
    are), except that a paragraph of prose (lines that start at the margin, between
    blank or indented lines) with a line longer than the width is wrapped to it: the
    texts are laid out for about 88 columns, and an 80-column terminal cut them
    mid-word. :data:`MODEL_NAMES` (:data:`BACKBONE_NAMES`) in a text becomes the model
    (backbone) names."""

    def _format_text(self, text: str) -> str:
        return super()._format_text(with_names(text))

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = super()._get_help_string(action)
        return None if text is None else with_names(text)

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        out: list[str] = []
        block: list[str] = []  # the prose paragraph being read

        def flush() -> None:
            if any(len(indent) + len(line) > width for line in block):
                out.extend(
                    textwrap.wrap(
                        " ".join(line.strip() for line in block),
                        width=max(20, width),
                        initial_indent=indent,
                        subsequent_indent=indent,
                        break_on_hyphens=False,
                        break_long_words=False,
                    )
                )
            else:
                out.extend(indent + line for line in block)
            block.clear()

        for line in text.splitlines():
            if line.strip() and not line[:1].isspace():
                block.append(line)
                continue
            flush()
            out.append(indent + line)
        flush()
        return "\n".join(out)


class Parser(argparse.ArgumentParser):
    """``argparse.ArgumentParser`` without abbreviations; see the module docstring."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        # kept for error(): a misspelt required option is reported as missing first
        self._given = list(sys.argv[1:] if args is None else args)
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        """argparse's error; when a required option is missing, the options given that
        this command does not know are named too (``--inter`` for ``--interactions``),
        with their hints: otherwise the message blames only the missing one."""
        if message.startswith("the following arguments are required"):
            own = {s for a in self._actions for s in a.option_strings}
            given = getattr(self, "_given", [])
            given = given[: given.index("--")] if "--" in given else given  # then values
            unknown = [a for a in given if a.startswith("--") and a.split("=", 1)[0] not in own]
            # VECTORS is optional to argparse (--vectors V may stand for it): nothing given
            # at all is missing it too
            takes_vectors = any(a.dest == "vectors" and not a.option_strings for a in self._actions)
            named = any(a.split("=", 1)[0] == "--vectors" for a in given)
            if takes_vectors and not self._words() and not named:
                message = message.replace("required: ", "required: VECTORS, ", 1)
            if unknown:  # worded as unknown_options words it, then what is missing
                message = f"{self.unrecognized(unknown)} (also: {message})"
        # one line, like every other error (argparse printed the whole usage first;
        # --help shows it)
        self.exit(2, f"{self.prog}: error: {message}\n")

    def _words(self) -> list[str]:
        """The positional words of the command line: not options, nor their values
        (``--n 3``), and everything after ``--``."""
        words: list[str] = []
        tokens = list(getattr(self, "_given", []))
        k = 0
        while k < len(tokens):
            token = tokens[k]
            if token == "--":
                return words + tokens[k + 1 :]
            if token.startswith("-") and len(token) > 1 and "=" not in token:
                action = self._option_string_actions.get(token)
                if action is not None and action.nargs != 0:
                    k += 1  # its value
            elif not token.startswith("-") or token == "-":
                words.append(token)
            k += 1
        return words

    def take_trailing(self, args: argparse.Namespace, extra: Sequence[str]) -> list[str]:
        """Append plain words left over after an option to this command's list
        positional (``visrec similar V 1 --n 5 2``: argparse does not resume a
        positional after an option); what is left to report as unrecognized."""
        lists = [a for a in self._actions if not a.option_strings and a.nargs in ("+", "*")]
        # after "--" every word is a positional, "-" and "-1e3" too (`visrec similar V
        # --n 2 -- -1e3`, as --help says): argparse leaves the "--" among the extras
        cut = extra.index("--") if "--" in extra else len(extra)
        words = [*extra[:cut], *extra[cut + 1 :]]
        if not extra or len(lists) != 1 or any(a.startswith("-") for a in extra[:cut]):
            return list(extra)
        dest = lists[0].dest
        setattr(args, dest, [*(getattr(args, dest, None) or []), *words])
        return []

    def unknown_options(self, extra: Sequence[str]) -> None:
        """Exit with the usage and 'unrecognized arguments', plus a hint per unknown
        option: what this command calls that, or the closest spelling."""
        self.error(self.unrecognized(extra))

    def unrecognized(self, extra: Sequence[str]) -> str:
        """``"unrecognized arguments: A B; HINT"``: the words, then a hint per option."""
        hints = [h for h in (self.hint(a) for a in extra if a.startswith("-")) if h]
        lists = [a for a in self._actions if not a.option_strings and a.nargs in ("+", "*")]
        odd = [a for a in extra if a.startswith("-") and not a.startswith("--") and a != "-"]
        if len(lists) == 1 and odd and not any(self.hint(a) for a in odd):
            # "-1e3" or "-x" meant as an id, not an option
            name = lists[0].metavar or lists[0].dest.upper()
            hints.append(f"{name} starting with '-': put it after '--', the options before it")
        message = f"unrecognized arguments: {' '.join(extra)}"
        if hints:
            message += "; " + "; ".join(dict.fromkeys(hints))
        return message

    def hint(self, arg: str) -> str | None:
        """What to use instead of the unknown option ``arg``, or None: this command's
        option of that meaning, a hyperparameter's ``--param`` form, the one option that
        starts so (abbreviations used to be read as that), or a close spelling."""
        name = arg.split("=", 1)[0]
        command = self.prog.split()[-1]
        if name in SAME_MEANING.get(command, {}):
            return SAME_MEANING[command][name]
        if command in PARAM_FORM and name.startswith("--"):
            param = name[2:].replace("-", "_")
            if param in hyperparameter_names():
                return "hyperparameters are set with " + PARAM_FORM[command].format(name=param)
        own = [
            s for a in self._actions for s in a.option_strings
            if s.startswith("--") and s != "--help"
        ]  # fmt: skip
        starting = [s for s in own if s.startswith(name)]
        if len(starting) == 1:
            return f"did you mean {starting[0]}?"
        close = difflib.get_close_matches(name, own, n=1, cutoff=0.75)
        return f"did you mean {close[0]}?" if close else None


def hyperparameter_names() -> set[str]:
    """The hyperparameters of every registered recommender (imported only for a hint; one
    that cannot be imported is left out, and an installed package's is not imported)."""
    from visrec.models.registry import MODELS, get_model_class

    names: set[str] = set()
    for name in MODELS:
        try:
            names.update(get_model_class(name)().get_params())
        except Exception:  # a hint must not fail the command: a broken plugin says so itself
            continue
    return names
