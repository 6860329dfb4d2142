"""Write the example domain with a curved boundary and two holes, ``example_domain.msh``.

An ellipse (centre (0.5, 0.5), semi-axes 0.45 × 0.35, inside [0, 1]²) minus two disks, meshed
with triangles of size about ``h`` by gmsh's OpenCASCADE kernel and written in MSH 4.1 format.

Physical groups: ``domain`` (2D, tag 1), ``outer`` (the ellipse, tag 2), ``holes`` (both circles,
tag 3). Run (serial, no MPI needed)::

    python comparisons/meshes/make_example_domain.py            # regenerates the shipped file
    python comparisons/meshes/make_example_domain.py --h 0.05 --out /tmp/coarse.msh
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import gmsh

DOMAIN, OUTER, HOLES = 1, 2, 3
CENTER, SEMI_AXES = (0.5, 0.5), (0.45, 0.35)
HOLE_DISKS = ((0.3, 0.5, 0.1), (0.7, 0.45, 0.08))  # (x, y, radius)
DEFAULT_PATH = Path(__file__).with_name("example_domain.msh")


def exact_area() -> float:
    """Area of the exact (curved) domain; the mesh's polygonal area is slightly smaller."""
    return math.pi * (SEMI_AXES[0] * SEMI_AXES[1] - sum(r**2 for _, _, r in HOLE_DISKS))


def make_example_domain(path: str | Path = DEFAULT_PATH, h: float = 0.03) -> Path:
    """Build, mesh and write the domain.

    Args:
        path: Output ``.msh`` file.
        h: Target mesh size (``Mesh.CharacteristicLengthMin/Max``).

    Returns:
        The path written.
    """
    path = Path(path)
    gmsh.initialize(interruptible=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("example_domain")
        occ = gmsh.model.occ
        ellipse = occ.addDisk(*CENTER, 0.0, *SEMI_AXES)
        holes = [occ.addDisk(x, y, 0.0, r, r) for x, y, r in HOLE_DISKS]
        out, _ = occ.cut([(2, ellipse)], [(2, hole) for hole in holes])
        occ.synchronize()
        gmsh.model.addPhysicalGroup(2, [t for d, t in out if d == 2], DOMAIN, name="domain")
        outer: list[int] = []  # curve tags
        inner: list[int] = []
        for _, curve in gmsh.model.getBoundary(out, oriented=False):
            xmin, _, _, xmax, _, _ = gmsh.model.getBoundingBox(1, curve)
            # the ellipse is the only curve wider than a hole
            (outer if xmax - xmin > 2 * SEMI_AXES[0] - 1e-6 else inner).append(curve)
        gmsh.model.addPhysicalGroup(1, outer, OUTER, name="outer")
        gmsh.model.addPhysicalGroup(1, inner, HOLES, name="holes")
        gmsh.option.setNumber("Mesh.CharacteristicLengthMin", h)
        gmsh.option.setNumber("Mesh.CharacteristicLengthMax", h)
        gmsh.option.setNumber("Mesh.MshFileVersion", 4.1)
        gmsh.model.mesh.generate(2)
        path.parent.mkdir(parents=True, exist_ok=True)
        gmsh.write(str(path))
    finally:
        gmsh.finalize()
    return path


def main(argv: list[str] | None = None) -> Path:
    """Command line: ``--h`` (mesh size), ``--out`` (file)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--h", type=float, default=0.03, help="mesh size (default 0.03)")
    parser.add_argument("--out", type=Path, default=DEFAULT_PATH, help="output .msh file")
    args = parser.parse_args(argv)
    path = make_example_domain(args.out, args.h)
    print(f"wrote {path} (h = {args.h})")
    return path


if __name__ == "__main__":
    main()
