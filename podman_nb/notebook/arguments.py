"""The magics' arguments: the options several magics share, and reading a magic's line into them.

Options are IPython ``magic_arguments`` decorators; :func:`common` (``--connection``, ``-h``) goes on
every magic. :func:`parse` turns a line into the argparse namespace, or a one-sentence UsageError
naming the magic (an unknown option lists the ones it takes).
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Callable, Dict, Iterable, List, Optional

from IPython.core.error import UsageError
from IPython.core.magic import line_magic
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from IPython.utils.process import arg_split


# ImagesManager's method names whose magic is named otherwise: %image_remove is %image_rm, and so on
METHOD_NAMES = {"image_remove": "image_rm", "image_list": "images", "image_get": "image_inspect",
                "image_get_registry_data": "image_registry_data"}


def key_values(values: Optional[List[str]], option: str) -> List[tuple]:
    """``KEY=VALUE`` words of a repeatable option as (key, value) pairs; anything else is a UsageError."""
    pairs = []
    for value in values or []:
        key, sep, val = value.partition("=")
        if not sep or not key:
            raise UsageError(f"{option} takes KEY=VALUE, got {value!r}")
        pairs.append((key, val))
    return pairs


def pairs(values: Optional[List[str]], option: str) -> Dict[str, str]:
    return dict(key_values(values, option))


def filters(values: Optional[List[str]]) -> Dict[str, List[str]]:
    found: Dict[str, List[str]] = {}
    for key, value in key_values(values, "--filter"):
        found.setdefault(key, []).append(value)
    return found


def given(**kwargs: Any) -> Dict[str, Any]:
    """The keywords whose value was given (not None): what a magic passes on to the images manager."""
    return {key: value for key, value in kwargs.items() if value is not None}


def tls(args: Any) -> Optional[bool]:
    return False if args.no_tls_verify else (True if args.tls_verify else None)


def common(function: Callable) -> Callable:
    """``--connection NAME`` and ``-h``: every magic takes them."""
    function = argument("--connection", metavar="NAME",
                        help="Use this Podman connection for this call (`%%podman connections` lists them).")(function)
    return argument("-h", "--help", action="store_true", help="Show this help.")(function)


def line(function: Callable) -> Callable:
    """``@line_magic``, ``@magic_arguments()`` and :func:`common` in one: the top of a line magic's stack."""
    return line_magic(magic_arguments()(common(function)))


def quiet(help: str = "No progress display.") -> Callable:  # pylint: disable=redefined-builtin
    return argument("-q", "--quiet", action="store_true", help=help)


def filter_option(help: str) -> Callable:  # pylint: disable=redefined-builtin
    return argument("-f", "--filter", action="append", metavar="KEY=VALUE", help=help + " Repeatable.")


creds_option = argument("--creds", metavar="USER[:PASS]", help="Registry credentials (only USER: asks for the password).")


def tls_options(function: Callable) -> Callable:
    function = argument("--no-tls-verify", action="store_true", help="Do not verify the registry's TLS.")(function)
    return argument("--tls-verify", action="store_true", help="Require TLS verification.")(function)


def build_options(function: Callable) -> Callable:
    """The options %%image_build and %image_env share (read by :func:`build_kwargs`)."""
    for args, kwargs in reversed((
            (("--cache-to",), dict(metavar="REPO", help="Push the layers to this registry repository "
                                                         "(another host's --cache-from reuses them).")),
            (("--cache-from",), dict(metavar="REPO", help="Reuse the layers found in this registry repository.")),
            (("--no-layers",), dict(action="store_true", help="Do not cache intermediate layers.")),
            (("--squash",), dict(action="store_true", help="Squash the new layers into one.")),
            (("--platform",), dict(help="Target platform, e.g. linux/amd64.")),
            (("--pull",), dict(action="store_true", help="Always pull the base image.")),
            (("--no-cache",), dict(action="store_true", help="Do not use cached layers.")),
            (("--label",), dict(action="append", metavar="KEY=VALUE", help="Image label; repeatable.")),
            (("--build-arg",), dict(action="append", metavar="KEY=VALUE", help="Build argument; repeatable.")),
            (("-t", "--tag"), dict(action="append", metavar="TAG", help="Name for the image; repeatable.")))):
        function = argument(*args, **kwargs)(function)
    # --creds: the --cache-to/--cache-from registry's login; --no-tls-verify/--tls-verify: its TLS and a FROM pull's
    return tls_options(creds_option(quiet()(function)))


def build_kwargs(args: Any) -> Dict[str, Any]:
    shared = getattr(args, "cache", None)  # %image_env --cache REPO: both directions
    return dict(tag=args.tag, buildargs=pairs(args.build_arg, "--build-arg"), labels=pairs(args.label, "--label"),
                nocache=args.no_cache or None, pull=args.pull or None, platform=args.platform,
                squash=args.squash or None, layers=not args.no_layers,
                cache_to=args.cache_to or shared, cache_from=args.cache_from or shared, tls_verify=tls(args))


def help_text(doc: Optional[str]) -> str:
    """The magic's docstring as -h shows it: ``Usage:`` instead of reST's leading ``::``."""
    doc = (doc or "").strip("\n")
    return "Usage:" + doc[2:] if doc.startswith("::") else doc


def wants_help(line: str) -> bool:
    """Whether the line asks for -h/--help (looked at before required arguments are checked)."""
    try:
        words = arg_split(line)
    except ValueError as error:  # an unbalanced quote: shlex's "No closing quotation"
        raise UsageError(f"cannot read the arguments: {error}") from None
    return any(word in ("-h", "--help") for word in words)


def parse(magic: Callable, name: str, line: str) -> Any:
    """``line`` read by ``magic``'s parser; a line it cannot take is a UsageError naming ``name``."""
    try:
        args = parse_argstring(magic, line)
    except (UsageError, ValueError) as error:
        # argparse keeps its options in a private list; IPython's magic_arguments offers no other way
        options = [o for action in magic.parser._actions for o in action.option_strings if o.startswith("--")]
        raise UsageError(usage_message(name, options, str(error))) from None
    for key, value in vars(args).items():  # IPython's split keeps the quotes: `--name "dsq"` means dsq
        setattr(args, key, [_unquoted(v) for v in value] if isinstance(value, list) else _unquoted(value))
    return args


def _unquoted(value: Any) -> Any:
    """A word without the quotes around it (``"dsq"`` or ``'dsq'``); anything else as it is."""
    if isinstance(value, str) and len(value) > 1 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value


def usage_message(magic: str, options: Iterable[str], message: str) -> str:
    """An argument error as one sentence naming the magic: an unknown option lists the ones it takes."""
    unknown = re.match(r"unrecognized arguments: (?P<words>.+)", message)
    if unknown:
        words = [w for w in unknown.group("words").split() if w.startswith("-")] or unknown.group("words").split()
        options = sorted(set(options) - {"--help"})
        close = difflib.get_close_matches(words[0], options, n=1)
        guess = f"did you mean {close[0]}? " if close else ""
        return (f"{magic}: unknown option {' '.join(words)} ({guess}{magic} takes {', '.join(options)}; "
                f"{magic} -h explains them)")
    return f"{magic}: {message} ({magic} -h shows how to call it)"


def help_with_empty_cell(lines: List[str], cell_magics: Iterable[str]) -> List[str]:
    """An input transformer: ``%%image_build -h`` with nothing below it prints the help.

    IPython refuses a cell magic with an empty body before calling it ("the cell body is empty"), so a
    cell of one of ``cell_magics`` holding only its first line with -h or --help gets a blank body line.
    """
    words = lines[0][2:].split() if lines and lines[0].startswith("%%") else []
    if (words and words[0] in cell_magics and not "".join(lines[1:]).strip()
            and ("-h" in words or "--help" in words)):
        return [lines[0].rstrip("\n") + "\n", "\n"]
    return lines
