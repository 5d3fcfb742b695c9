"""The explorer's magics, thin over ``podman_nb.explore``: %image_layers (with its headline and --plot),
%image_files, %image_diff, %image_advice, %image_packages, %image_sbom and %image_explore, as ExploreMagics (``%load_ext podman_nb`` registers it)."""

from __future__ import annotations

import os
import weakref
from typing import Any

from IPython.core.magic import Magics, magics_class
from IPython.core.magic_arguments import argument

from ..errors import InvalidArgument
from .arguments import line
from .context import CallContext, magic
from .units import human_size

_EXPLORERS: "weakref.WeakKeyDictionary[Any, Any]" = weakref.WeakKeyDictionary()


def _explorer(call: CallContext):
    """The Explorer of the client this call uses (layer indexes are shared by all: podman_nb.explore.CACHE)."""
    from ..explore import Explorer

    client = call.client
    if client not in _EXPLORERS:
        _EXPLORERS[client] = Explorer(client.api)
    return _EXPLORERS[client]


def _shown(frame: Any, headline: str = "", why_empty: str = "") -> Any:
    """The frame as people read it (human sizes, ages: notebook/tables.py), with the headline above the table."""
    from .tables import HeadlinedFrame

    shown = HeadlinedFrame(frame)
    shown.headline = headline
    shown.attrs.update(frame.attrs, why_empty=why_empty)
    return shown


def headline(frame: Any) -> str:
    """``efficiency 65.8 %, 2.6 MB wasted in 2 files`` from a layers frame's attrs."""
    files = frame.attrs["wasted_files"]
    return (f"{frame.attrs['image']}: efficiency {100 * frame.attrs['efficiency']:.1f} %, "
            f"{human_size(frame.attrs['wasted_bytes'])} wasted in {files} file{'' if files == 1 else 's'}")


def _text_bars(frame: Any, width: int = 40) -> None:
    """The layer sizes as bars of text, for a frontend that shows no images (terminal IPython)."""
    top = max(int(frame["size"].max()), 1)
    print(f"layer sizes (█ kept, ░ wasted; the longest bar is {human_size(top)})")
    for index, size, wasted in zip(frame.index, frame["size"], frame["wasted"]):
        whole, kept = round(size / top * width), round((size - wasted) / top * width)
        said = f" ({human_size(wasted)} wasted)" if wasted else ""
        print(f"{index:>5} {'█' * kept + '░' * (whole - kept):<{width}} {human_size(size):>9}{said}")


def _plot(frame: Any, shell: Any) -> None:
    """Layer sizes as bars, each layer's wasted bytes marked on top of what it keeps (as text where the
    frontend shows no images: terminal IPython's displays are text/plain only)."""
    if "image/png" not in shell.display_formatter.active_types:
        _text_bars(frame)
        return
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        print("--plot draws with matplotlib, which is not installed: pip install matplotlib")
        return
    from IPython.display import display

    figure, axes = plt.subplots(figsize=(8, 3 + 0.045 * min(max(map(len, frame["step"]), default=0), 34)))
    kept = frame["size"] - frame["wasted"]
    axes.bar(frame.index, kept / 1e6, label="kept")
    axes.bar(frame.index, frame["wasted"] / 1e6, bottom=kept / 1e6, color="tab:red", label="wasted")
    axes.set_ylim(0, max(float(frame["size"].max()) / 1e6, 1e-6) * 1.15)
    axes.set_xticks(list(frame.index))
    # the steps, cut to fit under a bar; "$" drawn as itself (matplotlib would start mathtext at a pair)
    axes.set_xticklabels([step if len(step) <= 34 else step[:33] + "…" for step in frame["step"]],
                         rotation=30, ha="right", fontsize=8, parse_math=False)
    axes.set_ylabel("MB")
    axes.set_title(headline(frame), fontsize=10)
    axes.legend()
    figure.tight_layout()
    display(figure)
    plt.close(figure)


@magics_class
class ExploreMagics(Magics):
    """Looking inside images: layers, files, differences, packages."""

    @line
    @argument("--plot", action="store_true",
              help="Draw the layer sizes as bars, the wasted bytes marked (matplotlib).")
    @argument("--ci", action="store_true",
              help="Apply dive's CI rules (its defaults, a .dive-ci file here, the options below): a broken "
                   "rule fails the cell.")
    @argument("--lowestEfficiency", metavar="RATIO", help="--ci: the lowest efficiency allowed (dive: 0.9).")
    @argument("--highestWastedBytes", metavar="SIZE", help="--ci: the most wasted bytes allowed, e.g. 20MB.")
    @argument("--highestUserWastedPercent", metavar="RATIO",
              help="--ci: the highest ratio of wasted bytes to the bytes the image's own layers add (dive: 0.1).")
    @argument("image", help="Image name or id.")
    @magic
    def image_layers(self, args, call):
        """One row per layer, oldest first: step, size, created_by, added, modified, removed, wasted, digest,
        created; dive's efficiency and wasted bytes in ``df.attrs`` and in the headline. With --ci, dive's CI
        rules too: a broken rule fails the cell with one sentence per rule, as ``dive --ci`` would fail.

        Example: ``df = %image_layers localhost/myenv:latest --plot``
        """
        explorer = _explorer(call)
        frame = explorer.layers(args.image)
        if args.plot:
            _plot(frame, self.shell)
        line = headline(frame)
        if args.ci:
            names = ("lowestEfficiency", "highestWastedBytes", "highestUserWastedPercent")
            verdicts = list(explorer.check(args.image, **{name: getattr(args, name) for name in names})["verdict"])
            line += f"; dive's CI rules: {verdicts.count('PASS')} passed, {verdicts.count('SKIP')} disabled"
        return _shown(frame, line)

    @line
    @argument("--wasted", action="store_true",
              help="dive's inefficient files: path, copies, bytes, largest first.")
    @argument("--layer", type=int, metavar="N",
              help="What layer N (as %%image_layers numbers it) added, modified or removed.")
    @argument("image", help="Image name or id.")
    @argument("path", nargs="?", help="Only what is under this path, e.g. /usr/lib.")
    @magic
    def image_files(self, args, call):
        """The files of the image (path, size, layer that last wrote it, mode, type, link); removed ones are
        absent.

        Example: ``%image_files localhost/myenv:latest /opt --layer 3``
        """
        where = f" under {args.path}" if args.path else ""
        what = "no file is in more than one layer" if args.wasted else (
            f"layer {args.layer} changed no file{where}" if args.layer is not None else f"no file{where}")
        frame = _explorer(call).files(args.image, args.path, layer=args.layer, wasted=args.wasted)
        step = frame.attrs.get("step")
        return _shown(frame, f"{args.image}, layer {step}" if step else "", why_empty=f"{args.image}: {what}")

    @line
    @argument("--packages", action="store_true", help="Compare the installed packages instead of the files.")
    @argument("--all", action="store_true", dest="everything",
              help="List the files with the same content and a new mtime, mode or owner too.")
    @argument("a", help="The first image.")
    @argument("b", help="The second image.")
    @magic
    def image_diff(self, args, call):
        """What differs from image A to image B: path, change (added, removed, modified), size_a, size_b. Files
        whose content is the same (a new mtime, mode or owner, a .pyc recompiled from the same source) are left
        out and counted in the headline; --all lists them as "same content". With --packages: kind, name,
        version_a, version_b, size_a, size_b, size_change, change.

        Example: ``%image_diff localhost/myenv:yesterday localhost/myenv:today --packages``
        """
        frame = _explorer(call).diff(args.a, args.b, packages=args.packages, same_content=args.everything)
        same = frame.attrs.get("same_content", 0)
        note = "" if args.packages or not same else (
            f"{same} file{' has' if same == 1 else 's have'} the same content with a new mtime, mode or owner"
            + (" (listed)" if args.everything else " (left out; --all lists them)"))
        what = "packages" if args.packages else "files" + (f"; {note}" if note else "")
        return _shown(frame, note, why_empty=f"{args.a} and {args.b} have the same {what}")

    @line
    @argument("image", help="Image name or id.")
    @magic
    def image_advice(self, args, call):
        """What could be saved and how, largest first: finding (removed-later, overwritten-later, package-cache,
        metadata-only copy, context junk, duplicate content), layer, step, path, bytes, fix; the headline sums
        the bytes (each copy counts once).

        Example: ``%image_advice localhost/myenv:latest``
        """
        frame = _explorer(call).advice(args.image)
        count = len(frame)
        return _shown(frame, f"{count} finding{'' if count == 1 else 's'}, {human_size(frame.attrs['bytes'])} "
                      "could be saved", why_empty=f"{args.image}: no finding (no file removed or rewritten in a "
                      "later step, package cache, metadata-only copy, context junk or duplicate content)")

    @line
    @argument("-o", "--output", metavar="FILE", help="Write the CycloneDX 1.6 JSON document to FILE.")
    @argument("image", help="Image name or id.")
    @magic
    def image_sbom(self, args, call):
        """The image's SBOM: one CycloneDX 1.6 component per package %%image_packages finds, with its purl
        (type, name, version, purl); -o FILE writes the JSON document (cyclonedx-python-lib: pip install
        'podman_nb[sbom]'), ``df.attrs["document"]`` holds it.

        Example: ``%image_sbom localhost/myenv:latest -o myenv.cdx.json``
        """
        frame = _explorer(call).sbom(args.image)
        where = ""
        if args.output:
            path = os.path.expanduser(args.output)
            try:
                with open(path, "w", encoding="utf-8") as out:
                    out.write(frame.attrs["document"])
            except OSError as exc:
                raise InvalidArgument(f"cannot write the SBOM to {path}: {exc.strerror or exc}") from None
            where = f", written to {path}"
        count = len(frame)
        return _shown(frame, f"CycloneDX 1.6 SBOM of {args.image}: {count} component{'' if count == 1 else 's'}"
                      f"{where}", why_empty=f"{args.image} has no package database podman_nb reads: an SBOM "
                      f"with no component{where}")

    @line
    @argument("--why", metavar="NAME",
              help="The chain that pulled NAME in: NAME, the package that depends on it, … up to one nothing needs.")
    @argument("image", help="Image name or id.")
    @magic
    def image_packages(self, args, call):
        """The packages installed in the image (python, debian, alpine, conda), read from its layers: kind,
        name, version, size (installed), layer and step (that installed it), path (of the database).

        Example: ``%image_packages localhost/myenv:latest --why jedi``
        """
        frame = _explorer(call).packages(args.image, why=args.why)
        chain = " ← ".join(frame["name"]) if args.why else ""
        return _shown(frame, f"{chain} (nothing installed needs {frame['name'].iloc[-1]})" if chain else "",
                      why_empty=f"{args.image} has no package database podman_nb reads (Python dist-info, dpkg, "
                      "apk, conda-meta)")


    @line
    @argument("image", help="Image name or id.")
    @magic
    def image_explore(self, args, call):
        """Click through the image, as dive does in a terminal: its layers (step, size), the picked layer's file
        tree (its changes or everything up to it; added, modified, removed; by size or name; a filter) and its
        advice. Without a widgets front end (terminal IPython) the layers and their advice as text.

        Example: ``%image_explore localhost/myenv:latest``
        """
        from .explore_view import ExploreModel
        from .progress_display import choose_mode

        model = ExploreModel(_explorer(call), args.image)
        if choose_mode() == "widgets":
            from .explore_widget import ExploreWidget

            return ExploreWidget(model)
        return model
