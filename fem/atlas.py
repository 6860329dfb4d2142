"""Brain tissue from the MNI152 (ICBM 2009c) atlas that ships inside ``nilearn``, read offline.

``nilearn`` installs the grey- and white-matter probability maps of the symmetric ICBM 2009
template (1 mm voxels, 197 × 233 × 189) as package data; they are read here with ``nibabel``
from the installed package's folder, without importing ``nilearn`` (which would pull in
scikit-learn) and without any network access. A slice is a pair of 2D probability maps; a
window of it, rescaled to the unit square, is what the GBM comparison solves on.
"""

from __future__ import annotations

import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Any, final

import numpy as np

_FILES = {"gm": "mni_icbm152_gm_tal_nlin_sym_09a_converted.nii.gz",
          "wm": "mni_icbm152_wm_tal_nlin_sym_09a_converted.nii.gz"}


def atlas_folder() -> Path:
    """The folder of the MNI152 maps inside the installed ``nilearn`` (not imported).

    Raises:
        FileNotFoundError: nilearn is not installed, or ships no MNI152 tissue maps.
    """
    spec = importlib.util.find_spec("nilearn")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the MNI152 tissue maps need the nilearn package (pip install nilearn)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "datasets" / "data"
    missing = [f for f in _FILES.values() if not (folder / f).is_file()]
    if missing:
        raise FileNotFoundError(f"nilearn at {folder.parent.parent} ships no {missing[0]}")
    return folder


@final
@dataclass(frozen=True, eq=False)
class TissueSlice:
    """An axial slice of the atlas: white- and grey-matter probabilities on 1 mm voxels.

    Attributes:
        wm, gm: Probabilities in [0, 1], shape (nx, ny), indexed [i, j] = voxel (x_i, y_j).
        origin: MNI coordinates (mm) of voxel [0, 0].
        z_mm: The slice's MNI z coordinate.
    """

    wm: np.ndarray
    gm: np.ndarray
    origin: tuple[float, float]
    z_mm: float

    def voxel(self, point_mm: tuple[float, float]) -> tuple[int, int]:
        """The voxel index (i, j) nearest to an MNI point (x, y) in mm."""
        return int(round(point_mm[0] - self.origin[0])), int(round(point_mm[1] - self.origin[1]))

    def box(self, center_mm: tuple[float, float], size_mm: int) -> tuple[int, int, int]:
        """(i0, j0, size_mm): the first voxel and side of a square window centred at an MNI point.

        Raises:
            ValueError: the window leaves the atlas, or its size is not a positive even number.
        """
        if size_mm <= 0 or size_mm % 2:
            raise ValueError(f"the window size must be a positive even number of mm, got {size_mm}")
        i, j = self.voxel(center_mm)
        h = size_mm // 2
        if i - h < 0 or j - h < 0 or i + h >= self.wm.shape[0] or j + h >= self.wm.shape[1]:
            raise ValueError(f"a {size_mm} mm window at {center_mm} mm leaves the atlas slice "
                             f"(x in [{self.origin[0]:g}, {self.origin[0] + self.wm.shape[0] - 1:g}], "
                             f"y in [{self.origin[1]:g}, {self.origin[1] + self.wm.shape[1] - 1:g}] mm)")
        return i - h, j - h, size_mm

    def window(self, center_mm: tuple[float, float], size_mm: int) -> TissueSlice:
        """The ``(size_mm + 1)²`` voxels of a square window centred at an MNI point (see :meth:`box`)."""
        i0, j0, n = self.box(center_mm, size_mm)
        cut = (slice(i0, i0 + n + 1), slice(j0, j0 + n + 1))
        return TissueSlice(wm=self.wm[cut], gm=self.gm[cut],
                           origin=(self.origin[0] + i0, self.origin[1] + j0), z_mm=self.z_mm)


def mni152_slice(z_mm: float) -> TissueSlice:
    """The axial slice of the MNI152 grey/white-matter maps nearest to MNI z = ``z_mm``.

    Raises:
        FileNotFoundError: no nilearn with its MNI152 maps.
        ValueError: z outside the atlas.
    """
    import nibabel  # a dependency of nilearn; imported here so that ``fem`` does not need it

    folder = atlas_folder()
    maps, affine = {}, None
    for key, name in _FILES.items():
        img: Any = nibabel.load(folder / name)
        affine = np.asarray(img.affine)
        k = int(round((z_mm - affine[2, 3]) / affine[2, 2]))
        data = img.dataobj
        if not 0 <= k < data.shape[2]:
            raise ValueError(f"z = {z_mm:g} mm is outside the atlas "
                             f"([{affine[2, 3]:g}, {affine[2, 3] + affine[2, 2] * (data.shape[2] - 1):g}] "
                             "mm)")
        maps[key] = np.clip(np.asarray(data[:, :, k], dtype=np.float64) / 255.0, 0.0, 1.0)
    assert affine is not None
    if not np.allclose(affine[:3, :3], np.eye(3)):
        raise ValueError("expected the 1 mm, axis-aligned MNI152 template")
    return TissueSlice(wm=maps["wm"], gm=maps["gm"], origin=(float(affine[0, 3]), float(affine[1, 3])),
                       z_mm=float(affine[2, 3] + k))


def bilinear(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Bilinear interpolation at points (n, 2) of an image (nx + 1, ny + 1) on the nodes (i/nx, j/ny).

    Points outside the unit square take the nearest edge value.
    """
    img = np.asarray(image, dtype=np.float64)
    nx, ny = img.shape[0] - 1, img.shape[1] - 1
    p = np.asarray(points, dtype=np.float64)
    sx, sy = np.clip(p[:, 0], 0, 1) * nx, np.clip(p[:, 1], 0, 1) * ny
    i, j = np.minimum(sx.astype(np.int64), nx - 1), np.minimum(sy.astype(np.int64), ny - 1)
    fx, fy = sx - i, sy - j
    out: np.ndarray = ((1 - fx) * (1 - fy) * img[i, j] + fx * (1 - fy) * img[i + 1, j]
                       + (1 - fx) * fy * img[i, j + 1] + fx * fy * img[i + 1, j + 1])
    return out


def tissue_images(window: TissueSlice, p_gm: float) -> np.ndarray:
    """(4, n + 1, n + 1) images P, ∂P/∂x, ∂P/∂y, φ of a window, in unit-square coordinates.

    P = P_wm + p_gm·P_gm is the relative diffusivity of the tissue (white matter 1, grey matter
    p_gm, CSF and outside the brain ≈ 0) and φ = min(P_wm + P_gm, 1) the brain tissue, where the
    tumour grows. The gradients are central differences (one-sided at the edges) in the unit
    square's coordinates, which span the window.
    """
    P = window.wm + p_gm * window.gm
    n = P.shape[0] - 1
    Px, Py = np.gradient(P, 1.0 / n, 1.0 / (P.shape[1] - 1))
    return np.stack([P, Px, Py, np.minimum(window.wm + window.gm, 1.0)])


def flip_near_edges(mask: np.ndarray, inside: np.ndarray, fraction: float,
                    rng: np.random.Generator) -> np.ndarray:
    """Label noise: a copy of a 2D mask with each voxel on its edge flipped with probability ``fraction``.

    A voxel is on the edge when one of its four neighbours has the other label; only voxels of
    ``inside`` (e.g. the brain) are flipped.
    """
    m = np.asarray(mask, dtype=bool)
    edge = np.zeros_like(m)
    edge[1:, :] |= m[1:, :] != m[:-1, :]
    edge[:-1, :] |= m[:-1, :] != m[1:, :]
    edge[:, 1:] |= m[:, 1:] != m[:, :-1]
    edge[:, :-1] |= m[:, :-1] != m[:, 1:]
    flip = edge & inside & (rng.uniform(size=m.shape) < fraction)
    noisy: np.ndarray = m ^ flip
    return noisy


def image_function(V: Any, image: np.ndarray) -> Any:
    """An image on the unit square's nodes as a Function of the DOLFINx space V (bilinear between them)."""
    import dolfinx.fem

    f = dolfinx.fem.Function(V)
    f.interpolate(lambda x: bilinear(image, x[:2].T))
    return f


@functools.lru_cache(maxsize=4)
def window_images(z_mm: float, center_mm: tuple[float, float], size_mm: int, p_gm: float) -> np.ndarray:
    """:func:`tissue_images` of a window of the slice at ``z_mm``, read once per arguments (read-only).

    Raises:
        FileNotFoundError, ValueError: as :func:`mni152_slice` and :meth:`TissueSlice.box`.
    """
    images = tissue_images(mni152_slice(z_mm).window(center_mm, size_mm), p_gm)
    images.flags.writeable = False
    return images
