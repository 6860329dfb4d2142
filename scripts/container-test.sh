#!/usr/bin/env bash
# make container-test: build containers/Containerfile, run the Darcy comparison (smoke preset, 2 MPI
# ranks) inside it with a host folder mounted at /out, run the same command in the project's venv,
# and compare the two report.json files (containers/compare_reports.py). Prints the build time and the
# image size. Not part of `make test` (a cold build downloads ~3 GB of wheels).
#
# Both runs use one snapshot of the working tree ($CT_OUT/src): the image is built from it and the
# venv run imports from it, so edits made meanwhile cannot make the two runs differ.
#
# Engine, first that applies:
#   - ../shared/tools/test-container-recipe.sh, when the project sits beside shared/ (these machines:
#     podman + runc, stand-in base images, --network none);
#   - podman, then docker, when its engine answers (`podman info` / `docker info`).
# env: CONTAINER_ENGINE=tool|podman|docker to choose; BILO_IMAGE (default bilo:test);
#      CT_OUT (default results/container-test); VENV (default .venv); RTOL_ADJOINT, RTOL_NETWORK.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TAG=${BILO_IMAGE:-bilo:test}
VENV=${VENV:-.venv}
case $VENV in /*) ;; *) VENV=$ROOT/$VENV ;; esac
OUT=${CT_OUT:-results/container-test}
TOOL=$ROOT/../shared/tools/test-container-recipe.sh
JOB=(--preset smoke --quiet)

log() { printf '[container-test] %s\n' "$*"; }
die() { printf '[container-test] error: %s\n' "$*" >&2; exit 2; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.0f", b - a }'; }

engine=${CONTAINER_ENGINE:-}
if [ -z "$engine" ]; then
  if [ -f "$TOOL" ]; then engine=tool
  elif command -v podman >/dev/null && podman info >/dev/null 2>&1; then engine=podman
  elif command -v docker >/dev/null && docker info >/dev/null 2>&1; then engine=docker
  else
    die "no container engine: need ../shared/tools/test-container-recipe.sh beside the project, or a working \
podman or docker (\`podman info\` / \`docker info\` failed or not installed)"
  fi
fi
case $engine in
  tool) [ -f "$TOOL" ] || die "CONTAINER_ENGINE=tool but $TOOL does not exist" ;;
  podman|docker) command -v "$engine" >/dev/null || die "CONTAINER_ENGINE=$engine but $engine is not installed" ;;
  *) die "CONTAINER_ENGINE must be tool, podman or docker, got '$engine'" ;;
esac

version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' pyproject.toml | head -1)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
if [ "$revision" != unknown ] && [ -n "$(git status --porcelain 2>/dev/null | head -1)" ]; then
  revision="$revision-dirty"
fi
source_url=$(git remote get-url origin 2>/dev/null || echo unknown)

rm -rf "$OUT"
mkdir -p "$OUT/container" "$OUT/venv"
OUT=$(cd "$OUT" && pwd)
# The snapshot: the tree as the build context sees it (.dockerignore excludes the same and more).
SRC=$OUT/src
mkdir -p "$SRC"
tar -C "$ROOT" --exclude-vcs --exclude=./.venv --exclude=./results --exclude=./runs --exclude=./build \
    --exclude=__pycache__ --exclude='*.egg-info' --exclude=./.pytest_cache --exclude=./.ruff_cache -cf - . \
  | tar -C "$SRC" -xf -
# The image runs as uid 1000 (user bilo): let it write the mounted folder whoever runs this script.
chmod 777 "$OUT/container"

# ---- build -------------------------------------------------------------------------------------------
log "engine: $engine; image $TAG (version $version, revision $revision)"
t0=$(now)
case $engine in
  tool)
    # The tool takes no --build-arg: give it a copy of the recipe whose ARG defaults carry the labels
    # (the ARGs come last in the recipe, so the cached layers stay valid).
    sed -e "s|^ARG VERSION=.*|ARG VERSION=$version|" -e "s|^ARG REVISION=.*|ARG REVISION=$revision|" \
        -e "s|^ARG SOURCE=.*|ARG SOURCE=$source_url|" "$SRC/containers/Containerfile" > "$OUT/Containerfile"
    # Build, then run `true` once (the tool always runs what it built).
    bash "$TOOL" -f "$OUT/Containerfile" "$SRC" "$TAG" -- true
    ;;
  *)
    "$engine" build -f "$SRC/containers/Containerfile" -t "$TAG" --build-arg VERSION="$version" \
      --build-arg REVISION="$revision" --build-arg SOURCE="$source_url" "$SRC"
    ;;
esac
build_s=$(since "$t0")
log "build: ${build_s} s"

if [ "$engine" = tool ]; then
  W=${W:-/var/tmp/ctrtest}
  size=$(CONTAINERS_CONF=$W/conf/containers.conf CONTAINERS_STORAGE_CONF=$W/conf/storage.conf \
         podman image inspect --format '{{.Size}}' "$TAG")
else
  size=$("$engine" image inspect --format '{{.Size}}' "$TAG")
fi
size_gb=$(awk -v s="$size" 'BEGIN { printf "%.2f", s / 1e9 }')
log "image size: $size bytes ($size_gb GB)"

# ---- the job in the container (the image's default command) -------------------------------------------
log "container: mpirun -n 2 python -m comparisons.darcy --preset smoke --out /out --quiet"
t0=$(now)
case $engine in
  # The tool builds again first (all layers cached): drop its build lines, keep the job's output.
  tool) bash "$TOOL" -f "$OUT/Containerfile" "$SRC" "$TAG" -v "$OUT/container:/out:Z" 2>&1 \
          | { grep -v -E '^(STEP [0-9]+/[0-9]+: |--> |COMMIT |Successfully tagged |[0-9a-f]{64}$)' || true; } \
          || die "the container run failed" ;;
  *) "$engine" run --rm --network none -v "$OUT/container:/out:Z" "$TAG" || die "the container run failed" ;;
esac
ctr_s=$(since "$t0")
[ -f "$OUT/container/report.json" ] || die "the container wrote no $OUT/container/report.json"
log "container run: ${ctr_s} s"

# ---- the same job in the venv ----------------------------------------------------------------------------
if [ ! -x "$VENV/bin/mpirun" ] || [ ! -x "$VENV/bin/python" ]; then
  log "no venv at $VENV: make venv"
  "${MAKE:-make}" venv
fi
# Run from the snapshot: cwd and PYTHONPATH put its packages ahead of the venv's editable install.
cd "$SRC"
where=$(PYTHONPATH=$SRC "$VENV/bin/python" -c 'import comparisons; print(comparisons.__file__)')
case $where in "$SRC"/*) ;; *) die "the venv imports comparisons from $where, not from the snapshot $SRC" ;; esac
log "venv: $VENV/bin/mpirun -n 2 $VENV/bin/python -m comparisons.darcy --preset smoke --out $OUT/venv --quiet"
t0=$(now)
# The image's ENV: one OpenMP thread, unbuffered output, Agg.
PYTHONPATH=$SRC OMP_NUM_THREADS=1 PYTHONUNBUFFERED=1 MPLBACKEND=Agg \
  "$VENV/bin/mpirun" -n 2 "$VENV/bin/python" -m comparisons.darcy "${JOB[@]}" --out "$OUT/venv" >/dev/null
venv_s=$(since "$t0")
log "venv run: ${venv_s} s"

# ---- compare ---------------------------------------------------------------------------------------------
set +e
"$VENV/bin/python" "$SRC/containers/compare_reports.py" "$OUT/container/report.json" "$OUT/venv/report.json" \
  --rtol-adjoint "${RTOL_ADJOINT:-1e-6}" --rtol-network "${RTOL_NETWORK:-1e-3}"
rc=$?
set -e
cat > "$OUT/summary.json" <<JSON
{"engine": "$engine", "image": "$TAG", "version": "$version", "revision": "$revision",
 "build_s": $build_s, "image_size_bytes": $size, "container_run_s": $ctr_s, "venv_run_s": $venv_s,
 "reports_agree": $([ $rc = 0 ] && echo true || echo false)}
JSON
log "summary: build ${build_s} s, image ${size_gb} GB, container run ${ctr_s} s, venv run ${venv_s} s; $OUT/summary.json"
if [ $rc != 0 ]; then
  log "FAILED: the container and venv reports differ (see above; both under $OUT)"
  exit 1
fi
log "passed"
