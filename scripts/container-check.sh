#!/usr/bin/env bash
# Build the project's image (`ptycho:cpu`, from the Dockerfile and this working tree) and run
# it as a user would: as its non-root user, configured by PTYCHO_* variables and a mounted
# JSON file, inputs mounted read-only, outputs in a mounted folder checked on the host.
#
#   bash scripts/container-check.sh          # from any clone; as root, or with a Docker daemon
#
# What it does, in order (each step is timed; a summary is printed at the end):
#   1. installs docker.io and debootstrap with apt-get when missing (needs root);
#   2. starts dockerd, when none answers, with --bridge=none --iptables=false (no container
#      network of its own: every build and run uses --network host), and stops that daemon,
#      by its process id, on exit;
#   3. takes the public base (python:3.12-slim) when it can be pulled; otherwise builds
#      ptycho-base:bookworm once with debootstrap + docker import (reused while its recipe
#      and this machine's CA certificates are unchanged);
#   4. builds ptycho:cpu, taking torch from a wheel that pip finds on this machine (served to
#      the build on 127.0.0.1 only), when the base's Python fits one;
#   5. runs in the image: `config show --json` (variables alone; variables + PTYCHO_CONFIG_FILE),
#      `demo`, `infer` on the demo's bundle, and bad variables (exit 2, one line);
#   6. builds the CUDA variant where its base can be had, and says so where it cannot.
# It leaves the image ptycho:cpu in place and exits non-zero on any failure.
#
# Settings (host environment; none is passed into the container):
#   CONTAINER_CHECK_IMAGE        image tag to build                 (ptycho:cpu)
#   CONTAINER_CHECK_BASE         base image to use, skipping step 3  (unset)
#   CONTAINER_CHECK_WHEEL_PORT   loopback port serving the wheel    (18765)
#   CONTAINER_CHECK_CUDA         auto | 0: try the CUDA variant      (auto)
#   CONTAINER_CHECK_KEEP         1: keep the work folder with the outputs and logs (0)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO_ROOT="$(pwd)"

IMAGE="${CONTAINER_CHECK_IMAGE:-ptycho:cpu}"
PUBLIC_BASE="python:3.12-slim"
CUDA_BASE="nvidia/cuda:12.8.1-base-ubuntu24.04"
LOCAL_BASE="ptycho-base:bookworm"
SUITE="bookworm"
BASE_PACKAGES="python3,python3-venv,ca-certificates"
BASE_RECIPE="v1 ${SUITE} minbase ${BASE_PACKAGES} trimmed"
TORCH_VERSION="$(sed -n 's/^ARG TORCH_VERSION=//p' Dockerfile | head -n 1)"
WHEEL_PORT="${CONTAINER_CHECK_WHEEL_PORT:-18765}"
MIN_SSIM=0.7

export DOCKER_BUILDKIT=1
export DEBIAN_FRONTEND=noninteractive
# The Debian client matches the daemon it installs and builds with BuildKit without buildx.
DOCKER_FROM_ENV="${DOCKER:+1}"
if [[ -z "${DOCKER:-}" ]]; then
    if [[ -x /usr/bin/docker ]]; then DOCKER=/usr/bin/docker; else DOCKER=docker; fi
fi

WORK="$(mktemp -d /tmp/ptycho-container-check.XXXXXX)"
RUN_LABEL="ptycho-container-check=$$"
DOCKERD_PID=""
SERVER_PID=""
STEP=""
declare -a TIMES=()
T_START=$SECONDS

log() { printf '[container-check] %s\n' "$*"; }
fail() {
    printf '[container-check] FAIL: %s\n' "$*" >&2
    exit 1
}

print_times() {
    ((${#TIMES[@]})) || return 0
    log "times:"
    printf '  %s\n' "${TIMES[@]}"
    printf '  %-44s %6ss\n' "total" "$((SECONDS - T_START))"
}

cleanup() {
    local status=$?
    set +e
    if [[ $status -ne 0 && -n "$STEP" ]]; then
        log "FAILED during step: $STEP (exit $status)"
    fi
    if [[ -n "$DOCKERD_PID" ]] || "$DOCKER" info > /dev/null 2>&1; then
        local ids=()
        mapfile -t ids < <("$DOCKER" ps -aq --filter "label=$RUN_LABEL" 2> /dev/null)
        ((${#ids[@]})) && "$DOCKER" rm -f "${ids[@]}" > /dev/null 2>&1
    fi
    if [[ -n "$SERVER_PID" ]]; then
        kill "$SERVER_PID" 2> /dev/null
        wait "$SERVER_PID" 2> /dev/null
    fi
    if [[ -n "$DOCKERD_PID" ]]; then
        log "stopping the dockerd it started (pid $DOCKERD_PID)"
        kill -TERM "$DOCKERD_PID" 2> /dev/null
        local i
        for ((i = 0; i < 60; i++)); do
            kill -0 "$DOCKERD_PID" 2> /dev/null || break
            sleep 0.5
        done
        if kill -0 "$DOCKERD_PID" 2> /dev/null; then
            log "dockerd (pid $DOCKERD_PID) still runs after 30 s; killing it"
            kill -KILL "$DOCKERD_PID" 2> /dev/null
        fi
        wait "$DOCKERD_PID" 2> /dev/null
    fi
    unmount_under "$WORK/rootfs"
    if [[ "${CONTAINER_CHECK_KEEP:-0}" == 1 ]]; then
        log "work folder kept: $WORK"
    else
        rm -rf --one-file-system "$WORK"
    fi
    print_times
    if [[ $status -eq 0 ]]; then log "PASS"; else log "FAILED (exit $status)"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# step NAME COMMAND...: run and time one step.
step() {
    local name="$1" t0=$SECONDS
    shift
    STEP="$name"
    log "== $name"
    "$@"
    TIMES+=("$(printf '%-44s %6ss' "$name" "$((SECONDS - t0))")")
    STEP=""
}

unmount_under() {
    local root="$1" mounts
    [[ -d "$root" ]] || return 0
    mounts="$(awk -v r="$root" '$2 == r || index($2, r "/") == 1 {print $2}' /proc/mounts | sort -r)"
    local m
    for m in $mounts; do umount -l "$m" 2> /dev/null || true; done
}

# ---------------------------------------------------------------------------------- steps

install_tools() {
    local missing=()
    command -v dockerd > /dev/null 2>&1 || missing+=(docker.io)
    [[ -x /usr/bin/docker ]] || command -v docker > /dev/null 2>&1 || missing+=(docker.io)
    command -v debootstrap > /dev/null 2>&1 || missing+=(debootstrap)
    if ((${#missing[@]} == 0)); then
        log "docker.io and debootstrap already installed"
    else
        [[ "$(id -u)" == 0 ]] || fail "needs root to install: ${missing[*]}"
        log "installing: ${missing[*]}"
        # a source that does not answer makes apt-get update fail; the install decides
        apt-get update -q > "$WORK/apt.log" 2>&1 || log "apt-get update reported errors; installing anyway"
        apt-get install -y -q --no-install-recommends "${missing[@]}" >> "$WORK/apt.log" 2>&1 \
            || { tail -n 20 "$WORK/apt.log"; fail "apt-get install ${missing[*]}"; }
        if [[ -z "$DOCKER_FROM_ENV" && -x /usr/bin/docker ]]; then DOCKER=/usr/bin/docker; fi
    fi
    log "client: $("$DOCKER" --version)"
}

start_daemon() {
    if "$DOCKER" info > /dev/null 2>&1; then
        log "a Docker daemon already answers; using it (it is left running)"
        return
    fi
    [[ "$(id -u)" == 0 ]] || fail "no Docker daemon answers, and starting one needs root"
    dockerd --bridge=none --iptables=false --ip-forward=false > "$WORK/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    log "started dockerd (pid $DOCKERD_PID, --bridge=none --iptables=false)"
    local i
    for ((i = 0; i < 120; i++)); do
        "$DOCKER" info > /dev/null 2>&1 && break
        kill -0 "$DOCKERD_PID" 2> /dev/null || { tail -n 20 "$WORK/dockerd.log"; fail "dockerd exited"; }
        sleep 0.5
    done
    "$DOCKER" info > /dev/null 2>&1 || { tail -n 20 "$WORK/dockerd.log"; fail "dockerd did not answer in 60 s"; }
    log "daemon: $("$DOCKER" version --format '{{.Server.Version}}')"
}

image_exists() { "$DOCKER" image inspect "$1" > /dev/null 2>&1; }

# can_have IMAGE: true when the image is here or can be pulled.
can_have() {
    image_exists "$1" && return 0
    local out
    if out="$(timeout 300 "$DOCKER" pull -q "$1" 2>&1)"; then return 0; fi
    log "cannot pull $1: $(tail -n 1 <<< "$out")"
    return 1
}

# The Debian mirror this machine's apt uses for $SUITE (empty: debootstrap's default).
debian_mirror() {
    python3 - "$SUITE" << 'EOF'
import glob, re, sys
suite = sys.argv[1]
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")) + ["/etc/apt/sources.list.d/debian.sources"]:
    try:
        text = open(path).read()
    except OSError:
        continue
    for stanza in re.split(r"\n\s*\n", text):
        fields = {}
        for line in stanza.splitlines():
            if line.startswith("#") or ":" not in line:
                continue
            key, value = line.split(":", 1)
            fields[key.strip().lower()] = value.split()
        if "deb" in fields.get("types", []) and suite in fields.get("suites", []) \
                and "main" in fields.get("components", []) and fields.get("uris"):
            print(fields["uris"][0]); sys.exit(0)
for path in ["/etc/apt/sources.list"] + sorted(glob.glob("/etc/apt/sources.list.d/*.list")):
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        words = re.sub(r"\[[^]]*\]", "", line.split("#", 1)[0]).split()
        if len(words) >= 4 and words[0] == "deb" and words[2] == suite and "main" in words[3:]:
            print(words[1]); sys.exit(0)
EOF
}

# The local base trusts what this machine trusts (its CA certificates), so that pip inside the
# build reaches the package index the way this machine does.
base_key() {
    {
        echo "$BASE_RECIPE"
        cat /etc/ssl/certs/ca-certificates.crt 2> /dev/null || true
    } | sha256sum | cut -c1-16
}

choose_base() {
    if [[ -n "${CONTAINER_CHECK_BASE:-}" ]]; then
        BASE="$CONTAINER_CHECK_BASE"
        image_exists "$BASE" || "$DOCKER" pull -q "$BASE" > /dev/null || fail "base $BASE cannot be had"
        log "base: $BASE (CONTAINER_CHECK_BASE)"
        return
    fi
    if can_have "$PUBLIC_BASE"; then
        BASE="$PUBLIC_BASE"
        log "base: $BASE (public)"
        return
    fi
    BASE="$LOCAL_BASE"
    local key have
    key="$(base_key)"
    have="$("$DOCKER" image inspect -f '{{index .Config.Labels "ptycho.base.key"}}' "$BASE" 2> /dev/null || true)"
    if [[ "$have" == "$key" ]]; then
        log "base: $BASE (built earlier with debootstrap, key $key; reused)"
        return
    fi
    [[ "$(id -u)" == 0 ]] || fail "building $BASE with debootstrap needs root"
    local mirror rootfs="$WORK/rootfs"
    mirror="$(debian_mirror || true)"
    log "base: building $BASE with debootstrap ($SUITE, minbase + ${BASE_PACKAGES}; mirror ${mirror:-debootstrap default})"
    # shellcheck disable=SC2086
    if ! debootstrap --variant=minbase --include="$BASE_PACKAGES" "$SUITE" "$rootfs" $mirror \
        > "$WORK/debootstrap.log" 2>&1; then
        tail -n 20 "$WORK/debootstrap.log"
        fail "debootstrap"
    fi
    unmount_under "$rootfs"
    if [[ -d /usr/local/share/ca-certificates ]]; then
        cp -a /usr/local/share/ca-certificates/. "$rootfs/usr/local/share/ca-certificates/"
    fi
    if [[ -f /etc/ssl/certs/ca-certificates.crt ]]; then
        cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/ca-certificates.crt"
    fi
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/* \
        "$rootfs"/var/log/*.log "$rootfs"/var/cache/debconf/*-old
    tar -C "$rootfs" --numeric-owner -c . | "$DOCKER" import \
        --change 'ENV LANG=C.UTF-8' \
        --change 'ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt' \
        --change "LABEL ptycho.base.key=$key" \
        --change 'CMD ["/bin/bash"]' \
        - "$BASE" > /dev/null
    unmount_under "$rootfs"
    rm -rf --one-file-system "$rootfs"
    log "base: $BASE imported ($(image_mb "$BASE") MB, key $key)"
}

image_mb() { echo $(($("$DOCKER" image inspect -f '{{.Size}}' "$1") / 1000000)); }

# The folders pip looks in for wheels here (find-links of its configuration), then /opt/wheels.
wheel_dirs() {
    {
        echo "${PIP_FIND_LINKS:-}"
        python3 -m pip config list 2> /dev/null | sed -n "s/^[^=]*find-links='\(.*\)'$/\1/p"
        echo /opt/wheels
    } | tr ' ' '\n' | sed 's#^file://##' | awk 'NF && !seen[$0]++'
}

find_torch_wheel() {
    TORCH_BUILD_ARGS=()
    local tag arch
    if [[ "$BASE" == "$PUBLIC_BASE" ]]; then
        log "torch: from the Dockerfile's default index (public base)"
        return
    fi
    tag="$("$DOCKER" run --rm --network host --label "$RUN_LABEL" --entrypoint python3 "$BASE" \
        -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')"
    arch="$(uname -m)"
    local dir wheel=""
    while read -r dir; do
        [[ -d "$dir" ]] || continue
        wheel="$(find "$dir" -maxdepth 1 -name "torch-${TORCH_VERSION}[+-]*-${tag}-${tag}-*${arch}.whl" \
            | sort | head -n 1)"
        [[ -n "$wheel" ]] && break
    done < <(wheel_dirs)
    if [[ -z "$wheel" ]]; then
        log "torch: no torch-${TORCH_VERSION} ${tag} wheel where pip looks here; the Dockerfile's default index"
        return
    fi
    local served="$WORK/wheels"
    mkdir -p "$served"
    ln "$wheel" "$served/" 2> /dev/null || ln -s "$wheel" "$served/"
    # A fixed port keeps the build's cache key (the URL is a build argument) from run to run;
    # the next ones are tried when it is taken.
    local port up=""
    for ((port = WHEEL_PORT; port < WHEEL_PORT + 10; port++)); do
        python3 -c '
import functools, http.server, sys
class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass
handler = functools.partial(Quiet, directory=sys.argv[1])
http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), handler).serve_forever()
' "$served" "$port" > "$WORK/wheel-server.log" 2>&1 &
        SERVER_PID=$!
        local i
        for ((i = 0; i < 50; i++)); do
            kill -0 "$SERVER_PID" 2> /dev/null || break
            if python3 -c '
import sys, urllib.request
page = urllib.request.build_opener(urllib.request.ProxyHandler({})).open(sys.argv[1], timeout=2)
sys.exit(sys.argv[2] not in page.read().decode())' \
                "http://127.0.0.1:$port/" "$(basename "$wheel")" 2> /dev/null; then
                up=1
                break
            fi
            sleep 0.2
        done
        [[ -n "$up" ]] && break
        kill "$SERVER_PID" 2> /dev/null
        wait "$SERVER_PID" 2> /dev/null || true
        SERVER_PID=""
        log "port $port on 127.0.0.1 unavailable: $(tail -n 1 "$WORK/wheel-server.log")"
    done
    [[ -n "$up" ]] || fail "no port from $WHEEL_PORT to $((WHEEL_PORT + 9)) to serve the wheel on"
    WHEEL_PORT=$port
    # pip's default index (empty TORCH_INDEX_URL) for torch's own dependencies.
    TORCH_BUILD_ARGS=(--build-arg "TORCH_FIND_LINKS=http://127.0.0.1:$WHEEL_PORT/"
        --build-arg "TORCH_INDEX_URL=")
    log "torch: $(basename "$wheel") (from $dir), served on 127.0.0.1:$WHEEL_PORT for the build"
}

build_image() {
    if ! timeout 2400 "$DOCKER" build --network host --progress plain -t "$IMAGE" \
        --build-arg "BASE_IMAGE=$BASE" "${TORCH_BUILD_ARGS[@]}" -f Dockerfile . \
        > "$WORK/build.log" 2>&1; then
        tail -n 40 "$WORK/build.log"
        fail "docker build of $IMAGE"
    fi
    # the Dockerfile's own steps ("#N [stage n/m] ..."), and how many came from the cache
    log "build: $(awk '
        /^#[0-9]+ \[[^]]* [0-9]+\/[0-9]+\]/ { step[$1] = 1 }
        /^#[0-9]+ CACHED$/ && ($1 in step) { cached[$1] = 1 }
        END { printf "%d of %d Dockerfile steps from the cache", length(cached), length(step) }
    ' "$WORK/build.log")"
    log "image $IMAGE: $(image_mb "$IMAGE") MB"
}

# ------------------------------------------------------------------------- runs in the image

# RUN_UID: who runs inside. The invoking user when not root (outputs are theirs); as root, the
# image's own user ptycho (uid 1000), which the output folders are handed to.
prepare_runs() {
    if [[ "$(id -u)" == 0 ]]; then
        RUN_UID=1000
        RUN_GID=1000
    else
        RUN_UID="$(id -u)"
        RUN_GID="$(id -g)"
    fi
    IN="$WORK/in"
    OUT="$WORK/out"
    mkdir -p "$IN" "$OUT"
    cat > "$IN/run.json" << 'EOF'
{
  "model": {"gridsize": 2},
  "training": {"n_groups": 256, "batch_size": 8, "nepochs": 99},
  "execution": {"logger": "csv", "enable_progress_bar": false}
}
EOF
    chmod 0644 "$IN/run.json"
    chmod 0755 "$IN"
    if [[ "$(id -u)" == 0 ]]; then chown "$RUN_UID:$RUN_GID" "$OUT"; fi
    # shellcheck disable=SC2054  # the commas are --tmpfs options
    RUN_ARGS=(--rm --network host --label "$RUN_LABEL" --user "$RUN_UID:$RUN_GID"
        --read-only --tmpfs /tmp:rw,exec,size=1g --security-opt no-new-privileges)
    [[ "$RUN_UID" == 1000 ]] || RUN_ARGS+=(-e HOME=/tmp)
    local uid
    uid="$("$DOCKER" run "${RUN_ARGS[@]}" --entrypoint id "$IMAGE" -u)"
    [[ "$uid" != 0 ]] || fail "the container runs as root"
    local user
    user="$("$DOCKER" image inspect -f '{{.Config.User}}' "$IMAGE")"
    log "runs as uid $uid inside (image user: $user; host user: $(id -u)); rootfs read-only, /tmp a tmpfs"
}

# ptycho_run LOGNAME DOCKER-RUN-ARGS... -- PTYCHO-ARGS...: run ptycho in the image.
ptycho_run() {
    local name="$1"
    shift
    local args=()
    while [[ "$1" != "--" ]]; do
        args+=("$1")
        shift
    done
    shift
    timeout 1200 "$DOCKER" run "${RUN_ARGS[@]}" "${args[@]}" "$IMAGE" "$@" \
        > "$WORK/$name.out" 2> "$WORK/$name.err"
}

# check_sources JSON-FILE EXPECT...: each EXPECT is section.field=source=value (value as JSON).
check_sources() {
    python3 - "$@" << 'EOF'
import json, sys
shown = json.load(open(sys.argv[1]))
bad = []
for expect in sys.argv[2:]:
    name, source, value = expect.split("=", 2)
    section, field = name.split(".", 1)
    entry = shown.get(section, {}).get(field)
    want = {"source": source, "value": json.loads(value)}
    if entry != want:
        bad.append(f"{name}: shown {entry}, expected {want}")
sources = sorted({e["source"] for s in shown.values() for e in s.values()})
if bad:
    sys.exit("config show --json: " + "; ".join(bad))
print(f"[container-check] sources as expected ({len(sys.argv) - 2} checked; sources seen: {', '.join(sources)})")
EOF
}

check_config_env_only() {
    ptycho_run config-env \
        -e PTYCHO_DEVICE=cpu -e PTYCHO_NEPOCHS=3 -e PTYCHO_N_GROUPS=128 -e PTYCHO_SEED=7 \
        -e PTYCHO_OUTPUT_DIR=/work/run1 -e PTYCHO_GRIDSIZE=2 \
        -- config show --json || { cat "$WORK/config-env.err"; fail "config show --json (variables alone)"; }
    check_sources "$WORK/config-env.out" \
        'execution.accelerator=env="cpu"' 'training.nepochs=env=3' 'training.n_groups=env=128' \
        'execution.seed=env=7' 'training.output_dir=env="/work/run1"' 'model.gridsize=env=2' \
        'training.batch_size=default=16' 'model.N=default=64'
    ! grep -q '"file"' "$WORK/config-env.out" || fail "a source 'file' without a settings file"
}

check_config_env_and_file() {
    ptycho_run config-file -v "$IN:/data:ro" \
        -e PTYCHO_CONFIG_FILE=/data/run.json -e PTYCHO_DEVICE=cpu -e PTYCHO_NEPOCHS=3 \
        -e PTYCHO_OUTPUT_DIR=/work/run1 \
        -- config show --json || { cat "$WORK/config-file.err"; fail "config show --json (variables + file)"; }
    # the variables beat the file (nepochs), the file beats the defaults
    check_sources "$WORK/config-file.out" \
        'training.nepochs=env=3' 'execution.accelerator=env="cpu"' 'training.output_dir=env="/work/run1"' \
        'model.gridsize=file=2' 'training.n_groups=file=256' 'training.batch_size=file=8' \
        'execution.logger=file="csv"' 'execution.enable_progress_bar=file=false' \
        'model.N=default=64'
    ptycho_run config-file-text -v "$IN:/data:ro" \
        -e PTYCHO_CONFIG_FILE=/data/run.json -e PTYCHO_DEVICE=cpu -e PTYCHO_NEPOCHS=3 \
        -- config show || { cat "$WORK/config-file-text.err"; fail "config show (variables + file)"; }
    grep -Eq '^training\.nepochs +3 +PTYCHO_NEPOCHS$' "$WORK/config-file-text.out" \
        || fail "config show: training.nepochs is not shown as from PTYCHO_NEPOCHS"
    grep -Eq '^model\.gridsize +2 +run\.json: model\.gridsize$' "$WORK/config-file-text.out" \
        || fail "config show: model.gridsize is not shown as from run.json"
}

# check_outputs DIR FILE...: the files exist on the host and every file under DIR is RUN_UID's.
check_outputs() {
    local dir="$1" f
    shift
    for f in "$@"; do [[ -s "$dir/$f" ]] || fail "missing on the host: $dir/$f"; done
    local others
    others="$(find "$dir" \( ! -uid "$RUN_UID" -o ! -gid "$RUN_GID" \) -printf '%U:%G %p\n' | head -n 5)"
    [[ -z "$others" ]] || fail "outputs not owned by $RUN_UID:$RUN_GID: $others"
    log "$(find "$dir" -type f | wc -l) files under $(basename "$dir"), all owned by uid:gid $RUN_UID:$RUN_GID on the host"
}

# check_metrics METRICS-JSON [REFERENCE-JSON]: SSIMs above MIN_SSIM (and close to the reference).
check_metrics() {
    python3 - "$MIN_SSIM" "$@" << 'EOF'
import json, sys
floor = float(sys.argv[1])
metrics = json.load(open(sys.argv[2]))
ref = json.load(open(sys.argv[3])) if len(sys.argv) > 3 else None
parts = []
for part in ("amplitude", "phase"):
    ssim = metrics[part]["ssim"]
    parts.append(f"{part} SSIM {ssim:.3f}")
    if not ssim > floor:
        sys.exit(f"{sys.argv[2]}: {part} SSIM {ssim:.3f} not above {floor}")
    if ref is not None and abs(ssim - ref[part]["ssim"]) > 0.02:
        sys.exit(f"{part} SSIM {ssim:.3f} far from the demo's {ref[part]['ssim']:.3f}")
print("[container-check] metrics: " + ", ".join(parts) + (" (as the demo's)" if ref else ""))
EOF
}

DEMO_NEPOCHS=2
DEMO_N_GROUPS=64
check_demo() {
    ptycho_run demo -v "$OUT:/work" \
        -e PTYCHO_DEVICE=cpu -e PTYCHO_NEPOCHS=$DEMO_NEPOCHS -e PTYCHO_N_GROUPS=$DEMO_N_GROUPS \
        -- demo --output-dir /work/demo --quiet || { tail -n 20 "$WORK/demo.err"; fail "ptycho demo"; }
    sed 's/^/    /' "$WORK/demo.out"
    check_outputs "$OUT/demo" simulated.npz model/wts.h5.zip model/loss_curve.png \
        reconstruction/reconstruction.npz reconstruction/amplitude.png reconstruction/phase.png \
        reconstruction/metrics.json
    check_metrics "$OUT/demo/reconstruction/metrics.json"
    # Did the variables shorten it? The epochs and steps the training log shows, against the
    # batch size the bundle records.
    local csv trained
    csv="$(find "$OUT/demo/model" -name metrics.csv | head -n 1)"
    [[ -n "$csv" ]] || fail "no metrics.csv in the demo's model folder"
    trained="$(python3 -c '
import csv, json, sys, zipfile
rows = [r for r in csv.DictReader(open(sys.argv[1])) if r.get("epoch")]
epochs = sorted({int(r["epoch"]) for r in rows})
steps = min(int(r["step"]) for r in rows if int(r["epoch"]) == epochs[0]) + 1
batch = json.loads(zipfile.ZipFile(sys.argv[2]).read("settings.json"))["training"]["batch_size"]
print(len(epochs), steps, -(-int(sys.argv[3]) // batch))' "$csv" "$OUT/demo/model/wts.h5.zip" "$DEMO_N_GROUPS")"
    local epochs steps want_steps
    read -r epochs steps want_steps <<< "$trained"
    [[ "$epochs" == "$DEMO_NEPOCHS" && "$steps" == "$want_steps" ]] \
        || fail "ptycho demo ignored PTYCHO_NEPOCHS=$DEMO_NEPOCHS PTYCHO_N_GROUPS=$DEMO_N_GROUPS: it trained $epochs epochs of $steps steps (expected $want_steps)"
    log "demo shortened by PTYCHO_NEPOCHS=$DEMO_NEPOCHS PTYCHO_N_GROUPS=$DEMO_N_GROUPS: $epochs epochs of $steps steps"
}

check_infer() {
    mkdir -p "$OUT/infer"
    if [[ "$(id -u)" == 0 ]]; then chown "$RUN_UID:$RUN_GID" "$OUT/infer"; fi
    ptycho_run infer -v "$OUT/demo:/data/demo:ro" -v "$OUT/infer:/work" \
        -e PTYCHO_DEVICE=cpu -e PTYCHO_MODEL_PATH=/data/demo/model \
        -e PTYCHO_TEST_DATA_FILE=/data/demo/simulated.npz -e PTYCHO_OUTPUT_DIR=/work/recon \
        -- infer --quiet || { tail -n 20 "$WORK/infer.err"; fail "ptycho infer"; }
    sed 's/^/    /' "$WORK/infer.out"
    check_outputs "$OUT/infer" recon/reconstruction.npz recon/amplitude.png recon/phase.png \
        recon/metrics.json
    check_metrics "$OUT/infer/recon/metrics.json" "$OUT/demo/reconstruction/metrics.json"
}

# refusal NAME VARIABLE WORD COMMAND...: run ptycho COMMAND with VARIABLE set; PROBLEM says
# what is wrong (not exit 2, not one line naming both the variable and WORD), empty if nothing.
refusal() {
    local name="$1" variable="$2" word="$3" status=0
    shift 3
    PROBLEM=""
    ptycho_run "$name" -v "$OUT:/work" -e "$variable" -- "$@" || status=$?
    local err lines
    err="$(cat "$WORK/$name.err")"
    lines="$(cat "$WORK/$name.out" "$WORK/$name.err" | grep -c .)" || true
    if [[ "$status" != 2 ]]; then
        PROBLEM="$variable ptycho $*: exit $status, expected 2 ($lines lines; last: $(tail -n 1 <<< "$err"))"
    elif [[ "$lines" != 1 ]]; then
        PROBLEM="$variable ptycho $*: $lines lines, expected one: $(tr '\n' ' ' <<< "$err")"
    elif [[ "$err" != *"${variable%%=*}"* || "$err" != *"$word"* ]]; then
        PROBLEM="$variable ptycho $*: the line does not name ${variable%%=*} and $word: $err"
    else
        log "$variable ptycho $*: exit 2, one line: $err"
    fi
}

check_bad_variables() {
    refusal bad-device PTYCHO_DEVICE=quantum quantum config show --json
    [[ -z "$PROBLEM" ]] || fail "$PROBLEM"
    refusal bad-device-train PTYCHO_DEVICE=quantum quantum train
    [[ -z "$PROBLEM" ]] || fail "$PROBLEM"
    refusal misspelt PTYCHO_NEPOCH=3 PTYCHO_NEPOCHS config show --json
    [[ -z "$PROBLEM" ]] || fail "$PROBLEM"
    refusal bad-device-demo PTYCHO_DEVICE=quantum quantum demo --output-dir /work/refused --quiet
    [[ -z "$PROBLEM" ]] || fail "$PROBLEM"
    [[ ! -e "$OUT/refused/model" ]] || fail "a refused demo trained: $OUT/refused/model exists"
}

check_cuda_variant() {
    if [[ "${CONTAINER_CHECK_CUDA:-auto}" == 0 ]]; then
        log "CUDA variant: skipped (CONTAINER_CHECK_CUDA=0)"
        return
    fi
    if ! can_have "$CUDA_BASE"; then
        log "CUDA variant: NOT BUILT: its base $CUDA_BASE cannot be had here"
        return
    fi
    if ! timeout 2400 "$DOCKER" build --network host --progress plain -t "${IMAGE%%:*}:cuda" \
        --build-arg VARIANT=cuda --build-arg "CUDA_BASE_IMAGE=$CUDA_BASE" -f Dockerfile . \
        > "$WORK/build-cuda.log" 2>&1; then
        tail -n 40 "$WORK/build-cuda.log"
        fail "docker build of the CUDA variant"
    fi
    "$DOCKER" run "${RUN_ARGS[@]}" "${IMAGE%%:*}:cuda" config show > /dev/null \
        || fail "the CUDA image does not run ptycho config show"
    log "CUDA variant: built ${IMAGE%%:*}:cuda ($(image_mb "${IMAGE%%:*}:cuda") MB); its config show runs (no GPU used)"
}

# ------------------------------------------------------------------------------------- main

log "repository: $REPO_ROOT ($(git rev-parse --short HEAD 2> /dev/null || echo 'not a git checkout'))"
step "install docker.io, debootstrap" install_tools
step "start dockerd" start_daemon
step "base image" choose_base
step "torch wheel" find_torch_wheel
step "build $IMAGE" build_image
step "run as the non-root user" prepare_runs
step "config show --json: variables alone" check_config_env_only
step "config show --json: variables + file" check_config_env_and_file
step "demo" check_demo
step "infer on the demo's bundle" check_infer
step "bad variables" check_bad_variables
step "CUDA variant" check_cuda_variant
log "image $IMAGE left in place: $(image_mb "$IMAGE") MB ($("$DOCKER" image inspect -f '{{.Id}}' "$IMAGE" | cut -c1-19))"
