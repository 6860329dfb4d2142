"""The domain every ``fem`` function takes (a DOLFINx mesh with its tags), and the error of a bad one.

Below the readers (``fem.meshes``) and the checks (``fem.quality``, ``fem.boundary``), so that
these can import it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

import numpy as np
from mpi4py import MPI

from fem import _loader as _loader  # noqa: F401  (loads MPI before dolfinx)

# isort: split

from dolfinx import mesh as dmesh


class MeshError(ValueError):
    """A mesh file could not be turned into a domain (the message names the file and the reason)."""


@dataclass(frozen=True)
class MeshData:
    """A distributed mesh with its tags.

    Attributes:
        mesh: The DOLFINx mesh (geometric dimension = topological dimension for domains).
        cell_tags: Cell markers (``None`` if the source had none).
        facet_tags: Facet markers (``None`` if the source had none).
        physical_groups: Name -> ``(dim, tag)``, e.g. ``{"boundary": (1, 1)}``.
    """

    mesh: dmesh.Mesh[np.float64]
    cell_tags: dmesh.MeshTags | None
    facet_tags: dmesh.MeshTags | None
    physical_groups: dict[str, tuple[int, int]] = field(default_factory=dict)

    @property
    def comm(self) -> MPI.Comm:
        """The mesh communicator."""
        return cast(MPI.Comm, self.mesh.comm)  # dolfinx leaves Mesh.comm unannotated

    @property
    def gdim(self) -> int:
        """Geometric dimension."""
        return int(self.mesh.geometry.dim)

    @property
    def tdim(self) -> int:
        """Topological dimension."""
        return int(self.mesh.topology.dim)
