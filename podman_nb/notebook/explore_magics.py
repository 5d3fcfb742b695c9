"""The explorer's magics, thin over ``podman_nb.explore``: %image_layers (with its headline and --plot),
%image_files, %image_diff and %image_packages, as ExploreMagics (``%load_ext podman_nb`` registers it)."""

from __future__ import annotations

import html
import weakref
from typing import Any

from IPython.core.magic import Magics, line_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments

from .arguments import common
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
    from .tables import ReadableFrame

    class Headlined(ReadableFrame):
        @property
        def _constructor(self):
            return ReadableFrame

        def __repr__(self) -> str:
            return f"{headline}\n{super().__repr__()}" if headline else super().__repr__()

        def _repr_html_(self):
            table = super()._repr_html_()
            return f"<p><b>{html.escape(headline)}</b></p>{table}" if headline and table else table

    shown = Headlined(frame)
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

    figure, axes = plt.subplots(figsize=(8, 3))
    kept = frame["size"] - frame["wasted"]
    axes.bar(frame.index, kept / 1e6, label="kept")
    axes.bar(frame.index, frame["wasted"] / 1e6, bottom=kept / 1e6, color="tab:red", label="wasted")
    axes.set_ylim(0, max(float(frame["size"].max()) / 1e6, 1e-6) * 1.15)
    axes.set_xticks(list(frame.index))
    axes.set_xlabel("layer")
    axes.set_ylabel("MB")
    axes.set_title(headline(frame), fontsize=10)
    axes.legend()
    figure.tight_layout()
    display(figure)
    plt.close(figure)


@magics_class
class ExploreMagics(Magics):
    """Looking inside images: layers, files, differences, packages."""

    @line_magic
    @magic_arguments()
    @common
    @argument("--plot", action="store_true",
              help="Draw the layer sizes as bars, the wasted bytes marked (matplotlib).")
    @argument("image", help="Image name or id.")
    @magic
    def image_layers(self, args, call):
        """One row per layer, oldest first: size, created_by, added, modified, removed, wasted, digest, created;
        dive's efficiency and wasted bytes in ``df.attrs`` and in the headline.

        Example: ``df = %image_layers localhost/myenv:latest --plot``
        """
        frame = _explorer(call).layers(args.image)
        if args.plot:
            _plot(frame, self.shell)
        return _shown(frame, headline(frame))

    @line_magic
    @magic_arguments()
    @common
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
        what = "no path is in more than one layer" if args.wasted else (
            f"layer {args.layer} changed no file{where}" if args.layer is not None else f"no file{where}")
        return _shown(_explorer(call).files(args.image, args.path, layer=args.layer, wasted=args.wasted),
                      why_empty=f"{args.image}: {what}")

    @line_magic
    @magic_arguments()
    @common
    @argument("--packages", action="store_true", help="Compare the installed packages instead of the files.")
    @argument("a", help="The first image.")
    @argument("b", help="The second image.")
    @magic
    def image_diff(self, args, call):
        """What differs from image A to image B: path, change (added, removed, modified), size_a, size_b; with
        --packages: kind, name, version_a, version_b, change.

        Example: ``%image_diff localhost/myenv:yesterday localhost/myenv:today --packages``
        """
        what = "packages" if args.packages else "files"
        return _shown(_explorer(call).diff(args.a, args.b, packages=args.packages),
                      why_empty=f"{args.a} and {args.b} have the same {what}")

    @line_magic
    @magic_arguments()
    @common
    @argument("image", help="Image name or id.")
    @magic
    def image_packages(self, args, call):
        """The packages installed in the image (python, debian, alpine, conda), read from its layers: kind,
        name, version, path.

        Example: ``%image_packages localhost/myenv:latest``
        """
        return _shown(_explorer(call).packages(args.image), why_empty=f"{args.image} has no package database "
                      "podman_nb reads (Python dist-info, dpkg, apk, conda-meta)")

