"""``%image_env``'s work (the magic's options are in notebook/magics.py): an environment image from a project
folder, or with --freeze from this kernel, shown as its Containerfile then built; with --lock, a conda project's
environment.yml is first solved into conda-lock.yml (``podman_nb.environment.lock``), which the build installs."""

from __future__ import annotations

import os
import sys
from typing import Any

from IPython.core.error import UsageError

from . import kernel_magics
from .arguments import build_kwargs
from .context import CallContext


def image_env(args: Any, call: CallContext) -> Any:
    from .. import environment  # its modules import on first use
    if args.freeze and (args.path or args.lock):
        raise UsageError("give a project folder or --freeze, not both" if args.path else
                         "--lock solves a project's environment.yml, and --freeze takes this kernel's: give one")
    kernel = ("ipykernel",) if args.kernel else ()  # --freeze pins this kernel's, ipykernel with it
    folder = args.path or os.getcwd()
    env = (environment.from_interpreter(base=args.base) if args.freeze  # the folder first: a wrong one
           else environment.from_folder(folder, base=args.base, packages=kernel,  # is the first mistake
                                        write_lock=args.lock))
    if not args.print and not args.tag:
        raise UsageError("name the image with -t TAG (or only look at the Containerfile with --print)")
    kernel_magics.check_name(args.kernel)
    auth = call.creds(args.creds) if args.lock or not args.print else None  # asked before a display opens
    if args.lock:
        kwargs = {key: value for key, value in build_kwargs(args).items() if key != "tag"}
        written = call.with_progress("build", "conda-lock.yml", args.quiet, lambda progress: environment.lock(
            call.images, env, progress=progress, auth_config=auth, **kwargs))
        print(f"Wrote {written}", file=sys.stderr)
        env = environment.from_folder(folder, base=args.base, packages=kernel)  # installs the lock as it is
    for warning in env.warnings:
        print(f"Warning: {warning}", file=sys.stderr)
    print(env.containerfile)
    if args.print:
        return None
    left_out = [("left out", ", ".join(env.left_out))] if env.left_out else []  # what no environment needs
    image = call.with_progress("build", ", ".join(args.tag), args.quiet, lambda progress: environment.build(
        call.images, env, progress=progress, auth_config=auth, **build_kwargs(args))[0],
        notes=left_out)
    if args.kernel:
        kernel_magics.register(call, args.tag[0], args.kernel, args.display_name)
    return image
