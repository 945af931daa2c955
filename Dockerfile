# PtychoPINN (`ptycho`) in a container, configured by PTYCHO_* variables and mounted files.
#
#   CPU  (default):  docker build -t ptycho:cpu .
#   CUDA:            docker build -t ptycho:cuda --build-arg VARIANT=cuda .
#
# Needs BuildKit (the default builder since Docker 23; DOCKER_BUILDKIT=1 on Docker 20.10),
# which builds only the stage VARIANT selects (the classic builder would pull both bases).
#
# VARIANT selects the base stage:
#   cpu   BASE_IMAGE      (python:3.12-slim)                   + torch from the PyTorch CPU index
#   cuda  CUDA_BASE_IMAGE (nvidia/cuda:12.8.1-base-ubuntu24.04) + torch from the CUDA index (TORCH_CUDA)
# The CUDA wheels carry their own CUDA libraries; the host needs an NVIDIA driver recent
# enough for TORCH_CUDA and the NVIDIA Container Toolkit (docker run --gpus all).
#
# Offline or mirrored builds (scripts/container-check.sh does this):
#   BASE_IMAGE=ptycho-base:bookworm   any Debian/Ubuntu image; python3 + venv are installed
#                                     with apt-get if the base lacks them
#   TORCH_FIND_LINKS=URL              a page or folder pip reads for a torch wheel
#                                     (--find-links), e.g. http://127.0.0.1:PORT/ served by
#                                     the host with --network host
#   TORCH_INDEX_URL=                  empty: pip's default index instead of the PyTorch one
# Optional loggers: --build-arg EXTRAS="tensorboard mlflow". See docs/containers.md.

ARG VARIANT=cpu
ARG BASE_IMAGE=python:3.12-slim
ARG CUDA_BASE_IMAGE=nvidia/cuda:12.8.1-base-ubuntu24.04

FROM ${BASE_IMAGE} AS base-cpu
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/cpu

FROM ${CUDA_BASE_IMAGE} AS base-cuda
ARG TORCH_CUDA=cu128
ARG TORCH_INDEX_URL=https://download.pytorch.org/whl/${TORCH_CUDA}

FROM base-${VARIANT}
ARG TORCH_VERSION=2.13.0
ARG TORCH_FIND_LINKS=
ARG EXTRAS=""
ENV VIRTUAL_ENV=/opt/ptycho PATH=/opt/ptycho/bin:$PATH PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    MPLBACKEND=Agg

# Python with venv: present in python:*-slim; installed from the base's apt sources otherwise.
RUN if ! python3 -c "import ensurepip, venv" 2>/dev/null; then \
        apt-get update \
     && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            python3 python3-venv \
     && rm -rf /var/lib/apt/lists/*; \
    fi \
 && python3 -m venv /opt/ptycho

# torch first, in its own layer (the largest; unchanged when the package changes).
RUN pip install "torch==${TORCH_VERSION}" \
        ${TORCH_FIND_LINKS:+--find-links "${TORCH_FIND_LINKS}"} \
        ${TORCH_INDEX_URL:+--index-url "${TORCH_INDEX_URL}"}

# The package's dependencies (and EXTRAS'), read from pyproject.toml: a layer that a change of
# the code alone leaves in place.
WORKDIR /src
COPY pyproject.toml ./
RUN python3 -c 'import sys, tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
print("\n".join(p["dependencies"] + [r for e in sys.argv[1].split() for r in p["optional-dependencies"][e]]))' \
        "${EXTRAS}" > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt "torch==${TORCH_VERSION}" \
 && rm /tmp/requirements.txt

# The package, installed by root into /opt/ptycho: read-only to the runtime user.
COPY README.md ./
COPY ptycho_settings ./ptycho_settings
COPY ptycho_engine ./ptycho_engine
RUN extras="$(echo ${EXTRAS} | tr ' ' ',')" \
 && pip install ".${extras:+[${extras}]}" "torch==${TORCH_VERSION}" \
 && ptycho config show > /dev/null \
 && cd / && rm -rf /src

# A non-root user, uid 1000 (a base's own user of that uid, such as Ubuntu's, makes way).
# Mount inputs (data, config files) read-only under /data and a writable directory at /work,
# where relative output paths land.
WORKDIR /
RUN if getent passwd 1000 > /dev/null; then userdel --remove "$(getent passwd 1000 | cut -d: -f1)"; fi \
 && useradd --create-home --uid 1000 --shell /usr/sbin/nologin ptycho \
 && mkdir -p /data /work \
 && chown ptycho:ptycho /work
USER ptycho
WORKDIR /work
ENV HOME=/home/ptycho MPLCONFIGDIR=/tmp/matplotlib

ENTRYPOINT ["ptycho"]
CMD ["--help"]
