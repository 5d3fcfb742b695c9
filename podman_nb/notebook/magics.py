"""The IPython magics: one per image operation, each a thin layer over ``PodmanClient().images``.

``%load_ext podman_nb`` registers them; ``%config PodmanMagics`` shows the settings. Errors from
the service come out as one short line (``%config PodmanMagics.show_tracebacks = True`` for more)
while the cell still fails, so nbconvert and papermill stop. What every magic repeats (parsing, the
call's context, the error path) is the ``magic`` decorator (notebook/context.py); the options are in
notebook/arguments.py; this module is the table of contents.
"""

from __future__ import annotations

import io
import os
from typing import Any, List, Optional

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Enum, Float, Int, Unicode, observe

from ..api.connections import list_connections
from ..client import PodmanClient
from ..domain.references import bare_id, names_registry
from ..errors import PodmanError
from .units import human_size
from . import answers, error_display, explore_magics, kernel_magics
from .arguments import (build_kwargs, build_options, common, creds_option, filter_option, filters, given,
                        help_with_empty_cell, line, quiet, tls, tls_options)
from .context import CallContext, ask_each, magic, session_for


def _tables():
    """The DataFrame module, imported on first use: pandas costs ~0.2 s, %load_ext should not."""
    from . import tables
    return tables


@magics_class
class PodmanMagics(Magics):
    """Magics for Podman images. Settings: ``%config PodmanMagics``."""

    base_url = Unicode(None, allow_none=True, help="Podman service address (unix://, ssh://, tcp://); "
                       "None finds it as the podman CLI does, or starts one.").tag(config=True)
    connection = Unicode(None, allow_none=True, help="Name of the Podman connection to use "
                         "(`podman system connection list`); None: CONTAINER_CONNECTION, CONTAINER_HOST, "
                         "the default connection, the usual sockets.").tag(config=True)
    progress = Enum(["auto", "widgets", "text", "none"], "auto",
                    help="How pulls, pushes and builds show progress.").tag(config=True)
    log_tail = Int(200, help="Build log lines kept on screen (the whole log is kept on the result).").tag(config=True)
    update_interval = Float(0.2, help="Seconds between progress refreshes (at most 5 a second; a log line waits no longer).").tag(config=True)
    show_tracebacks = Bool(False, help="Show full tracebacks instead of one line.").tag(config=True)
    stream_timeout = Float(None, allow_none=True, help="Seconds a pull, push or build may stay silent "
                           "before it is abandoned (None: no limit).").tag(config=True)
    list_cache = Enum(["auto", "on", "off"], "auto", help="%images from a listing kept current by the service's "
                      "events: auto = where listing is slow (Podman < 4.5); %podman says whether.").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any):
        # before super().__init__: a %config'd base_url is applied there, and _reconnect reads this
        self.session = session_for(shell, lambda: dict(base_url=self.base_url, connection=self.connection,
                                                       stream_timeout=self.stream_timeout, progress=self.progress,
                                                       update_interval=self.update_interval, log_tail=self.log_tail))
        super().__init__(shell=shell, **kwargs)
        self.error_handler: Any = None  # set by error_display.install

    @observe("base_url", "connection", "stream_timeout", "list_cache")
    def _reconnect(self, change: Any) -> None:
        self.session.reset()

    def client_for(self, name: Optional[str]) -> PodmanClient:
        """The client of connection ``name`` (None: the notebook's), made once and kept."""
        return self.session.client_for(name)

    @property
    def client(self) -> PodmanClient:
        """The notebook's client (a call's own --connection is its CallContext's)."""
        return self.client_for(None)

    # Listing -------------------------------------------------------------------------------
    @line
    @argument("--no-trunc", action="store_true", help="Show full image ids.")
    @argument("--wide", action="store_true", help="Every column: also dangling, arch, os, shared and virtual "
              "size, digest, labels.")
    @quiet("Only the image ids.")
    @argument("--sort", help="Sort by this column (newest first by default).")
    @filter_option("dangling=true, label=k or label=k=v, reference=PATTERN, before=IMAGE, since=IMAGE.")
    @argument("-a", "--all", action="store_true", help="Include intermediate images.")
    @argument("--all-connections", action="store_true",
              help="Every Podman connection, asked in parallel, with a connection column.")
    @argument("--fresh", action="store_true", help="Ask the service, not the listing cache.")
    @magic
    def images(self, args, call):
        """List images as a DataFrame, one row per tag: repository, tag, image_id, created, size,
        containers (and dangling when some image is); ``--wide`` for every column.

        ``--connection a,b`` or ``--all-connections``: one DataFrame with a ``connection`` column; a
        service that does not answer is a note, not a failure.

        Example: ``df = %images --filter dangling=false --sort size``
        """
        names = call.connections(args.all_connections)
        why = "no images" + (" match " + " ".join(f"--filter {f}" for f in args.filter) if args.filter else "")

        def frame(client: PodmanClient):
            rows = client.listing(self.list_cache).list_attrs(fresh=args.fresh, all=args.all,
                                                              filters=filters(args.filter))
            return _tables().images_frame(rows, no_trunc=args.no_trunc, sort=args.sort, quiet=args.quiet,
                                          wide=args.wide, why_empty=why)

        return frame(call.client) if len(names) < 2 and not args.all_connections else call.each_connection(names, frame)

    @line
    @argument("--no-trunc", action="store_true", help="Do not shorten ids and commands.")
    @argument("image", help="Image name or id.")
    @magic
    def image_history(self, args, call):
        """The layers an image is made of, as a DataFrame.

        Example: ``%image_history localhost/myenv:latest``
        """
        return _tables().history_frame(call.images.get(args.image).history(), no_trunc=args.no_trunc)

    @line
    @argument("image", help="Image name or id.")
    @magic
    def image_inspect(self, args, call):
        """Everything the service knows about an image: its document as a dict, shown as one sentence.

        Example: ``info = %image_inspect localhost/myenv:latest``
        """
        return answers.inspect_answer(args.image, call.images.get(args.image).attrs)

    @line
    @tls_options
    @argument("--list-tags", action="store_true", help="List the tags of the named repository.")
    @filter_option("is-official, is-automated, stars.")
    @argument("--limit", type=int, help="At most this many results per registry.")
    @argument("term", help="What to search for, e.g. registry.example.com/name.")
    @magic
    def image_search(self, args, call):
        """Search registries, as a DataFrame.

        Example: ``%image_search quay.io/podman --limit 5``
        """
        found = call.images.search(args.term, limit=args.limit, filters=filters(args.filter),
                                   listTags=args.list_tags or None, tls_verify=tls(args))
        why = f"no image matches {args.term!r}"
        if not found and not names_registry(args.term) and \
                not (call.client.info().get("registries") or {}).get("search"):
            why = ("no search registries are configured: name one, e.g. "
                   f"`%image_search quay.io/{args.term}`")
        return _tables().search_frame(found, list_tags=args.list_tags, why_empty=why)

    @line
    @creds_option
    @argument("image", help="Image reference in a registry.")
    @magic
    def image_registry_data(self, args, call):
        """Ask the registry (without pulling) for an image's digest and platforms: a dict (name, digest,
        platforms) shown as one sentence.

        Example: ``%image_registry_data 127.0.0.1:5000/team/env:latest``
        """
        auth = call.creds(args.creds)
        data = call.images.get_registry_data(args.image, auth_config=auth)
        return answers.registry_answer(args.image, data.id, data.platforms)

    # Pull, push, build ---------------------------------------------------------------------
    @line
    @tls_options
    @quiet()
    @creds_option
    @argument("--policy", choices=["always", "missing", "newer", "never"], help="Pull policy (default always).")
    @argument("--platform", metavar="OS/ARCH[/VARIANT]", help="Platform to pull, e.g. linux/arm64.")
    @argument("--all-tags", action="store_true", help="Pull every tag of the repository.")
    @argument("reference", help="Image to pull, e.g. quay.io/podman/hello:latest.")
    @magic
    def image_pull(self, args, call):
        """Pull an image with live progress; returns the Image (a DataFrame as %images' with --all-tags).

        Example: ``img = %image_pull 127.0.0.1:5000/team/env:latest --creds alice``
        """
        kwargs = given(auth_config=call.creds(args.creds), platform=args.platform, tls_verify=tls(args),
                       policy=args.policy)
        pulled = call.with_progress("pull", args.reference, args.quiet, lambda progress: call.images.pull(
            args.reference, all_tags=args.all_tags, progress=progress, **kwargs))
        return self._images_result(call, pulled) if args.all_tags else pulled

    @line
    @tls_options
    @quiet()
    @creds_option
    @argument("--format", choices=["oci", "v2s2", "v2s1"], help="Manifest format.")
    @argument("reference", help="Local image to push.")
    @argument("destination", nargs="?", help="Where to push it (default: the reference itself).")
    @magic
    def image_push(self, args, call):
        """Push an image to a registry with live progress; the summary says what was pushed (nothing is returned).

        Example: ``%image_push localhost/myenv:latest 127.0.0.1:5000/team/myenv:latest --creds alice``
        """
        kwargs = given(auth_config=call.creds(args.creds), destination=args.destination, tls_verify=tls(args),
                       format=args.format)
        call.with_progress("push", args.destination or args.reference, args.quiet, lambda progress: call.images.push(
            args.reference, progress=progress, **kwargs))
        return None

    @cell_magic
    @magic_arguments("%image_build")  # the usage line gets the one "%" magic_arguments adds: %%image_build
    @common
    @build_options
    @argument("--target", help="Build up to this stage.")
    @argument("--context", metavar="DIR", help="Folder whose files COPY can use (default: none).")
    @magic
    def image_build(self, args, call):
        """Build an image: the cell body is the Containerfile. Returns the Image; its
        ``build_log`` keeps every line (``.text``: the output as text).

        Example::

            %%image_build -t localhost/myenv:latest --context . --build-arg VERSION=1.2
            FROM localhost/base:latest
            COPY requirements.txt /app/
        """
        if not call.cell.strip():
            raise UsageError("the cell is empty: write the Containerfile below %%image_build")
        context = os.path.expanduser(args.context) if args.context else None
        title, auth = ", ".join(args.tag or []) or "image", call.creds(args.creds)  # asked before the display
        return call.with_progress("build", title, args.quiet, lambda progress: call.images.build(
            fileobj=io.StringIO(call.cell), path=context, target=args.target, progress=progress,
            auth_config=auth, **build_kwargs(args))[0])

    @line
    @build_options
    @argument("--print", action="store_true", help="Only print the Containerfile (to edit in %%%%image_build).")
    @argument("--base", metavar="IMAGE", help="Base image (default: docker.io/library/python:X.Y-slim for "
              "runtime.txt's Python, else this kernel's).")
    @argument("--freeze", action="store_true", help="This kernel's environment: its Python and every "
              "installed distribution, pinned.")
    @argument("path", nargs="?", help="Project folder (default: the notebook's folder).")
    @argument("--kernel", metavar="NAME", help="Also add ipykernel (a version the project pins wins) and register "
              "the image as the Jupyter kernel NAME (--display-name TEXT: what Jupyter shows).")
    @argument("--display-name", metavar="TEXT", help="With --kernel: the name Jupyter shows.")
    @argument("--cache", metavar="REPO", help="Share the layers through this registry repository (both ways).")
    @argument("--lock", action="store_true", help="Solve environment.yml, write conda-lock.yml, build from it.")
    @magic
    def image_env(self, args, call):
        """Build an environment image from a project folder's files as repo2docker reads them (README's table),
        or with --freeze from this kernel; shows the Containerfile and returns the Image. Host pip index
        settings (PIP_INDEX_URL, ...) reach pip as a build secret, stored nowhere in the image. --lock
        first solves a conda project's environment.yml into conda-lock.yml, which the build installs as it is.

        Example: ``img = %image_env . -t localhost/myproject:latest``
        """
        from .environment_magic import image_env  # its modules import on first use
        return image_env(args, call)

    # Changing images -----------------------------------------------------------------------
    @line
    @argument("-f", "--force", action="store_true", help="Remove even when containers use it.")
    @argument("images", nargs="+", help="Images to remove.")
    @magic
    def image_rm(self, args, call):
        """Remove images; returns a DataFrame of what went, in %images' columns and ``removed``
        ("deleted", or "untagged" when the image keeps other names).

        Example: ``%image_rm localhost/old:1 localhost/old:2``
        """
        before = call.images.list_attrs(all=True)
        report = []
        for name in args.images:
            report.extend(call.images.remove(name, force=args.force or None))
        return _tables().removed_frame(before, report)

    @line
    @argument("--dry-run", action="store_true", help="Show what would be removed and the space it frees.")
    @filter_option("label=..., until=...")
    @argument("-a", "--all", action="store_true", help="Every image no container uses, not only dangling ones.")
    @magic
    def image_prune(self, args, call):
        """Remove unused images; returns a DataFrame of what went (or would go, with --dry-run).

        Example: ``%image_prune --dry-run``
        """
        wanted = filters(args.filter)
        if args.dry_run:
            gone = [image.attrs for image in call.images.prune_candidates(all=args.all, filters=wanted)]
        else:
            before = call.images.list_attrs(all=True)
            deleted = {entry["Deleted"] for entry in call.images.prune(all=args.all, filters=wanted)["ImagesDeleted"]}
            gone = [attrs for attrs in before if attrs.get("Id") in deleted]
        why = ("nothing to prune: every image is in use" if args.all else
               "nothing to prune: no dangling images (--all also removes tagged images no container uses)")
        frame = _tables().images_frame(gone, why_empty=why.replace(":", "".join(
            f" with --filter {f}" for f in args.filter or []) + ":", 1))
        if len(frame):
            print(_tables().removal_summary(frame, "Would remove" if args.dry_run else "Removed"))
        return frame

    @line
    @argument("image", help="Existing image.")
    @argument("target", help="New name, REPOSITORY[:TAG].")
    @magic
    def image_tag(self, args, call):
        """Give an image another name.

        Example: ``%image_tag localhost/myenv:latest 127.0.0.1:5000/team/myenv:1.0``
        """
        from ..domain.references import split_reference
        repository, tag, _ = split_reference(args.target)
        image = call.images.get(args.image)
        image.tag(repository, tag or "latest")
        image.reload()
        return image

    @line
    @argument("--named", action="store_true", help="Keep the image's name in the archive.")
    @argument("image", help="Image to save.")
    @argument("path", help="File to write (a docker-archive tarball).")
    @magic
    def image_save(self, args, call):
        """Save an image to a tarball that %image_load can read back.

        Example: ``%image_save localhost/myenv:latest myenv.tar --named``
        """
        path = os.path.expanduser(args.path)
        written = call.images.get(args.image).save_to(path, named=args.named)
        print(f"Saved {args.image} to {path} ({human_size(written)}).")
        return path

    @line
    @argument("path", help="A tarball made by %%image_save or podman save.")
    @magic
    def image_load(self, args, call):
        """Load images from a tarball; returns the Image (a DataFrame as %images' when there are several).

        Example: ``%image_load myenv.tar``
        """
        loaded = list(call.images.load(file_path=os.path.expanduser(args.path)))
        return loaded[0] if len(loaded) == 1 else self._images_result(call, loaded)

    @line
    @quiet("Only the loaded image.")
    @argument("source", help="Source image (or connection::image).")
    @argument("destination", nargs="?", help="Destination connection (and image name).")
    @magic
    def image_scp(self, args, call):
        """Copy an image to another Podman connection (the service runs podman image scp); says what
        arrived where, once (nothing is returned).

        Example: ``%image_scp localhost/myenv:latest otherhost::``
        """
        answer = call.images.scp(args.source, args.destination, quiet=args.quiet)
        arrived = answer.get("Id") if isinstance(answer, dict) else None
        print(f"Copied {args.source} to {args.destination or 'the default connection'}"
              + (f" (there as {arrived})" if arrived and arrived != args.source else ""))
        return None

    # Connection ----------------------------------------------------------------------------
    @line
    @argument("--url", help="Switch to the Podman service at this address (unix://, ssh://, tcp://).")
    @argument("what", nargs="?", choices=["connections"], help="connections: a DataFrame of Podman's connections.")
    @magic
    def podman(self, args, call):
        """Which Podman service the magics use (connection, address, version: a dict shown as one sentence);
        ``--url`` or ``--connection`` switches to another; ``%podman connections`` lists Podman's connections
        and whether they answer.

        Example: ``%podman --connection podman-machine-default``
        """
        if args.what == "connections":
            return self._connections()
        if args.url and args.connection:
            raise UsageError("give --url or --connection, not both")
        previous = (self.base_url, self.connection)
        if args.url or args.connection:
            self.base_url, self.connection = args.url, args.connection
        try:
            client = self.client_for(None)  # here --connection switches the notebook, it is not for one call
            info = answers.ServiceFacts(connection=client.connection, base_url=client.base_url,
                                          podman=client.api.podman_version, api=client.version().get("ApiVersion"),
                                          listing=client.listing(self.list_cache).status())
        except PodmanError:
            if args.url or args.connection:  # an address that does not answer leaves the magics where they were
                self.base_url, self.connection = previous
            raise
        return info

    def _connections(self):
        found = list_connections()

        def version(name: str) -> str:
            return self.client_for(name).api.podman_version

        versions, failures = ask_each([c.name for c in found], version)
        records = [{"name": c.name, "uri": c.uri, "identity": c.identity, "default": c.default,
                    "answers": c.name in versions, "version": versions.get(c.name) or str(failures.get(c.name, ""))}
                   for c in found]
        return _tables().connections_frame(records)

    def _images_result(self, call: CallContext, images: List[Any]) -> Any:
        """Several images as %images shows them (the listing's rows for their ids)."""
        ids = {bare_id(image.id) for image in images}
        rows = call.images.list_attrs(all=True)
        return _tables().images_frame([row for row in rows if bare_id(row.get("Id")) in ids])


def _empty_cell_help(lines: List[str]) -> List[str]:
    """``%%image_build -h`` with nothing below it prints the help (arguments.help_with_empty_cell)."""
    return help_with_empty_cell(lines, PodmanMagics.magics["cell"])


def load_ipython_extension(ipython: Any) -> None:
    magics = PodmanMagics(ipython, parent=ipython)
    # the kernels' and the explorer's magic classes share the session of PodmanMagics (notebook/context.py)
    ipython.register_magics(magics, kernel_magics.KernelMagics(ipython), explore_magics.ExploreMagics(ipython))
    if magics not in ipython.configurables:
        ipython.configurables.append(magics)
    if _empty_cell_help not in ipython.input_transformers_cleanup:  # a public list (IPython >= 7)
        ipython.input_transformers_cleanup.append(_empty_cell_help)
    error_display.install(ipython, magics)


def unload_ipython_extension(ipython: Any) -> None:
    if _empty_cell_help in ipython.input_transformers_cleanup:
        ipython.input_transformers_cleanup.remove(_empty_cell_help)
    magics = ipython.magics_manager.registry.get("PodmanMagics")
    if magics is not None:
        error_display.uninstall(ipython, magics)
        magics.session.reset()  # close the clients: their listing caches' threads and streams end
