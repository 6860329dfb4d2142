"""The output folder of a run: checked before any work, filled atomically, ``report.json`` last.

A run folder holds ``run.json`` (what ran and its status: ``running``, ``failed``, ``interrupted``
or ``complete``), the network methods' ``checkpoints/``, and, once the run is complete, its
figures and files and finally ``report.json``. Figures are written into ``.staging/`` and moved
in when the report is ready, so a folder never shows a report or a figure of another run: an
interrupted run leaves ``run.json`` saying so and no report.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, final

from fem.parallel import collective
from hybrid.history import History

MARKER = "run.json"


def write_atomic(path: Path, text: str) -> Path:
    """Write ``text`` to ``path`` through a temporary file and a rename (never a torn file)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path


def _check(path: Path, *, resume: bool, overwrite: bool) -> str | None:
    """Why ``path`` cannot take this run (None: it can), creating or emptying it as asked."""
    if path.exists() and not path.is_dir():
        return f"--out {path} exists and is not a folder"
    entries = sorted(p.name for p in path.iterdir()) if path.is_dir() else []
    ours = MARKER in entries
    if entries and resume and not ours:
        return f"--resume: {path} holds no run to resume (no {MARKER})"
    if entries and overwrite and not resume:
        if not ours:
            return (f"--overwrite: {path} is not a run folder of this toolkit (no {MARKER}); "
                    "not removing it, choose another --out")
        shutil.rmtree(path)
    elif entries and not resume:
        return (f"--out {path} is not empty ({', '.join(entries[:3])}{', …' if len(entries) > 3 else ''}): "
                "pass --resume to continue that run, --overwrite to replace it, or another --out")
    try:
        path.mkdir(parents=True, exist_ok=True)
        write_atomic(path / ".write-test", "")
        (path / ".write-test").unlink()
    except OSError as exc:
        return f"--out {path} cannot be written: {exc.strerror or exc}"
    return None


def write_histories(path: Path, histories: Mapping[tuple[str, int], Sequence[Mapping[str, Any]]]) -> Path:
    """Write the logged training rows of every method and seed as one long CSV.

    Columns: ``method``, ``seed``, then every key any row has (empty where a row has none), so
    one file plots every method's convergence.
    """
    return History([{"method": label, "seed": seed, **row}
                    for (label, seed), rows in histories.items() for row in rows]).write_csv(path)


@final
@dataclass(frozen=True)
class RunFolder:
    """A checked output folder (see the module docstring). Build it with :meth:`prepare` or :meth:`open`.

    Attributes:
        path: The folder.
        comm: The communicator of the run (rank 0 writes).
    """

    path: Path
    comm: Any

    @classmethod
    def prepare(cls, path: Path, comm: Any, *, resume: bool = False, overwrite: bool = False,
                about: dict[str, Any] | None = None) -> RunFolder:
        """Check and claim ``path`` for a command-line run, before any work. Collective.

        A non-empty folder is refused unless ``resume`` (it must be a run folder: its
        checkpoints are reused, everything else but ``run.json`` is removed) or ``overwrite``
        (it must be a run folder; it is emptied).

        Raises:
            ValueError: The folder cannot take the run (the message says why and what to pass);
                raised alike on every rank.
        """
        error = _check(path, resume=resume, overwrite=overwrite) if comm.rank == 0 else None
        error = comm.bcast(error, root=0)
        if error:
            raise collective(ValueError(error))
        folder = cls(path, comm)
        if comm.rank == 0:
            # a resumed run keeps its record and its checkpoints; the rest is rewritten at the end
            for p in path.iterdir():
                if p.name in (MARKER, "checkpoints"):
                    continue
                if p.is_dir():
                    shutil.rmtree(p)
                else:
                    p.unlink()
        folder.mark("running", **(about or {}))
        return folder

    @classmethod
    def open(cls, path: Path, comm: Any) -> RunFolder:
        """``path`` as a run folder for the Python API: created if missing, content kept. Collective."""
        error = None
        if comm.rank == 0:
            if path.exists() and not path.is_dir():
                error = f"output folder {path} exists and is not a folder"
            else:
                try:
                    path.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    error = f"output folder {path} cannot be created: {exc.strerror or exc}"
        error = comm.bcast(error, root=0)
        if error:
            raise collective(ValueError(error))
        return cls(path, comm)

    @property
    def checkpoints(self) -> Path:
        """Where the network methods keep their checkpoints."""
        return self.path / "checkpoints"

    @property
    def staging(self) -> Path:
        """Where figures are written before they are moved in (created, empty, on every rank's view)."""
        stage = self.path / ".staging"
        if self.comm.rank == 0:
            shutil.rmtree(stage, ignore_errors=True)
            stage.mkdir(parents=True)
        self.comm.barrier()
        return stage

    def mark(self, status: str, **about: Any) -> None:
        """Record the run's status in ``run.json`` (rank 0), keeping what was recorded before."""
        if self.comm.rank != 0:
            return
        marker = self.path / MARKER
        try:
            record = json.loads(marker.read_text()) if marker.exists() else {}
        except (OSError, ValueError):
            record = {}
        record.update(about)
        record["status"] = status
        record[f"{status}_at"] = time.strftime("%Y-%m-%dT%H:%M:%S%z")
        write_atomic(marker, json.dumps(record, indent=2, default=str) + "\n")

    def publish(self, written: Sequence[Path]) -> list[Path]:
        """Move the staged files into the folder (rank 0); their new paths. Collective."""
        stage = self.path / ".staging"
        moved = []
        if self.comm.rank == 0:
            for entry in sorted(stage.iterdir()) if stage.is_dir() else []:
                target = self.path / entry.name
                if target.is_dir():
                    shutil.rmtree(target)
                os.replace(entry, target)
            shutil.rmtree(stage, ignore_errors=True)
            moved = [self.path / p.relative_to(stage) if p.is_relative_to(stage) else p for p in written]
        self.comm.barrier()
        return moved
