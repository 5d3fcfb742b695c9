"""``%image_kernel`` (register, --list, --remove) and the registration ``%image_env --kernel`` ends with: thin
over ``podman_nb.kernels``, sharing the magics' session (the service a kernel is registered against by default).
"""

from __future__ import annotations

from typing import Any, Dict, Optional

from IPython.core.error import UsageError
from IPython.core.magic import Magics, magics_class
from IPython.core.magic_arguments import argument

from .. import kernels
from ..domain.references import short_id
from .arguments import line
from .context import CallContext, magic


def check_name(name: Optional[str]) -> None:
    """Refuse a --kernel name Jupyter would reject before anything is built."""
    if name is not None:
        kernels.check_name(name)


def service_of(call: CallContext, url: Optional[str] = None) -> Dict[str, str]:
    """``install``'s service keywords: --url, else the call's --connection, else the service the magics use now."""
    if url:
        return {"base_url": url}
    if call.connection:
        return {"connection": call.connection}
    api = call.client.api
    return {"connection": api.connection} if api.connection else {"base_url": api.base_url}


def _frame(rows):
    """The kernels as %images shows images: fitted to the window, one line per row, never typeset (tables.py)."""
    import pandas
    from .tables import ReadableFrame
    columns = ["name", "display_name", "image", "image_id", "service", "running"]
    frame = pandas.DataFrame(rows, columns=columns)
    frame["image_id"] = frame["image_id"].map(short_id)
    return ReadableFrame(frame)


def register(call: CallContext, image: str, name: str, display_name: Optional[str] = None, mounts: Any = None,
             env: Any = None, gpu: bool = False, network: Optional[str] = None, url: Optional[str] = None):
    """Install the kernel and say so; its one-row DataFrame."""
    kernels.check_name(name)  # before the service is looked for
    row = kernels.install(image, name, display_name, mounts=mounts or (), env=env or (), gpu=gpu,
                          network=network, **service_of(call, url))
    print(f"Kernel {name!r} ({row['display_name']}) is registered: pick it in Jupyter's kernel list.")
    return _frame([row])


@magics_class
class KernelMagics(Magics):
    """``%image_kernel``: images as Jupyter kernels."""

    @line
    @argument("--network", metavar="NAME", help="A Podman network (default: the host's, on loopback ports).")
    @argument("--gpu", action="store_true", help="Request the CDI device nvidia.com/gpu=all.")
    @argument("--env", action="append", metavar="KEY=VALUE", help="Environment variable in the kernel; repeatable.")
    @argument("--mount", action="append", metavar="HOST[:CONTAINER[:ro]]", help="Also mount this folder; repeatable.")
    @argument("--url", metavar="URL", help="Register against this Podman service address (default: the magics' "
              "service, or --connection's).")
    @argument("--display-name", metavar="TEXT", help="The name Jupyter shows (default: NAME (Podman: IMAGE)).")
    @argument("--remove", metavar="NAME", help="Remove the kernel NAME and any container it left (refused "
              "while it runs: shut it down first).")
    @argument("--list", action="store_true", help="List the podman_nb kernels as a DataFrame.")
    @argument("--name", metavar="NAME", help="The kernel's name (letters, digits, '.', '_', '-').")
    @argument("image", nargs="?", help="The image to run the kernel in (it needs python3 with ipykernel).")
    @magic
    def image_kernel(self, args, call):
        """Register an image as a Jupyter kernel: the notebook's folder mounted at the same path, loopback
        ports, interrupts that keep state, restarts that start a fresh container, nothing left after shutdown.
        ``--list`` gives a DataFrame (name, display_name, image, image_id, service, running); ``--remove NAME``
        removes a kernel and its containers.

        Example: ``%image_kernel localhost/myproject:latest --name myproject``
        """
        if args.list:
            return _frame(kernels.list())
        if args.remove:
            row = kernels.remove(args.remove)
            print(f"Removed the kernel {row['name']} ({row['running']} container(s) removed).")
            return None
        if not args.image or not args.name:
            raise UsageError("give an IMAGE and --name NAME (or --list, or --remove NAME)")
        if args.connection and args.url:
            raise UsageError("give --connection or --url, not both")
        return register(call, args.image, args.name, args.display_name, args.mount, args.env, args.gpu,
                        args.network, url=args.url)
