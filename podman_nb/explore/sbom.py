"""An image's software bill of materials: one CycloneDX 1.6 component per installed package the explorer finds
(Debian, Python, conda, Alpine), each with its purl, made and validated with cyclonedx-python-lib (the [sbom]
extra): the JSON is the library's, never written by hand."""

from __future__ import annotations

import re
from typing import Iterable, List, Tuple

from ..errors import InvalidArgument

# the package kind -> purl type and namespace
PURL = {"debian": ("deb", "debian"), "python": ("pypi", None), "conda": ("conda", None), "alpine": ("apk", "alpine")}


def _library():
    try:
        from cyclonedx.model.bom import Bom
        from cyclonedx.model.component import Component, ComponentType
        from cyclonedx.output.json import JsonV1Dot6
        from cyclonedx.schema import SchemaVersion
        from cyclonedx.validation.json import JsonStrictValidator
        from packageurl import PackageURL
    except ImportError:
        raise InvalidArgument("an SBOM is made with cyclonedx-python-lib, which is not installed: "
                              "pip install 'podman_nb[sbom]'") from None
    return Bom, Component, ComponentType, JsonV1Dot6, SchemaVersion, JsonStrictValidator, PackageURL


def purl_of(kind: str, name: str, version: str) -> str:
    """``pkg:deb/debian/bash@5.2.15-2``, ``pkg:pypi/six@1.16.0`` (a Python name normalized as PyPI's)."""
    *_, PackageURL = _library()
    kind_of, namespace = PURL[kind]
    if kind == "python":
        name = re.sub(r"[-_.]+", "-", name).lower()
    return str(PackageURL(type=kind_of, namespace=namespace, name=name, version=version or None))


def document(image: str, image_id: str, packages: Iterable[Tuple[str, str, str]]) -> Tuple[str, List[tuple]]:
    """The CycloneDX 1.6 JSON of the image's ``packages`` (kind, name, version), validated by the library's own
    validator, and its components as (type, name, version, purl), one per purl."""
    Bom, Component, ComponentType, JsonV1Dot6, SchemaVersion, JsonStrictValidator, PackageURL = _library()
    bom = Bom()
    root = bom.metadata.component = Component(name=image, version=image_id, type=ComponentType.CONTAINER,
                                              bom_ref=f"image:{image_id}")
    rows, seen = [], set()
    for kind, name, version in sorted(packages):
        purl = purl_of(kind, name, version)
        if purl in seen:  # the same dist in two site-packages: one component
            continue
        seen.add(purl)
        bom.components.add(Component(name=name, version=version or None, type=ComponentType.LIBRARY,
                                     purl=PackageURL.from_string(purl), bom_ref=purl))
        rows.append((PURL[kind][0], name, version, purl))
    bom.register_dependency(root, bom.components)  # the image holds every package
    text = JsonV1Dot6(bom).output_as_string(indent=2)
    error = JsonStrictValidator(SchemaVersion.V1_6).validate_str(text)
    if error is not None:
        raise ValueError(f"the SBOM does not pass CycloneDX 1.6's schema: {error}")
    return text, rows
