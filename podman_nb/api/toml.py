"""Reading the containers TOML files (registries.conf, containers.conf): tomllib, or tomli before Python 3.11."""

try:  # Python 3.11+
    from tomllib import TOMLDecodeError, load, loads
except ImportError:  # pragma: no cover - older Pythons get tomli from the package's dependencies
    from tomli import TOMLDecodeError, load, loads  # type: ignore[no-redef]

__all__ = ["TOMLDecodeError", "load", "loads"]
