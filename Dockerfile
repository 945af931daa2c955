# syntax=docker/dockerfile:1
# PtychoPINN (`ptycho`) in a container, configured by PTYCHO_* variables and mounted files.
#
#   CPU  (default):  docker build -t ptycho:cpu .
#   CUDA:            docker build -t ptycho:cuda --build-arg VARIANT=cuda .
#
# VARIANT selects the base stage:
#   cpu   python:3.12-slim            + torch from the PyTorch CPU wheel index
#   cuda  nvidia/cuda (Ubuntu 24.04)  + torch from the PyTorch CUDA wheel index (TORCH_CUDA)
# The CUDA wheels carry their own CUDA libraries; the host needs an NVIDIA driver recent
# enough for TORCH_CUDA and the NVIDIA Container Toolkit (docker run --gpus all).
# Optional loggers: --build-arg EXTRAS="tensorboard mlflow". See docs/containers.md.

ARG VARIANT=cpu
ARG TORCH_VERSION=2.13.0

FROM python:3.12-slim AS base-cpu
ARG TORCH_VERSION
ENV VIRTUAL_ENV=/opt/ptycho PATH=/opt/ptycho/bin:$PATH PIP_NO_CACHE_DIR=1
RUN python3 -m venv /opt/ptycho \
 && pip install "torch==${TORCH_VERSION}" --index-url https://download.pytorch.org/whl/cpu

FROM nvidia/cuda:12.8.1-base-ubuntu24.04 AS base-cuda
ARG TORCH_VERSION
ARG TORCH_CUDA=cu128
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
ENV VIRTUAL_ENV=/opt/ptycho PATH=/opt/ptycho/bin:$PATH PIP_NO_CACHE_DIR=1
RUN python3 -m venv /opt/ptycho \
 && pip install "torch==${TORCH_VERSION}" --index-url "https://download.pytorch.org/whl/${TORCH_CUDA}"

FROM base-${VARIANT}
ARG EXTRAS=""
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 MPLBACKEND=Agg

# The package, installed by root into /opt/ptycho: read-only to the runtime user.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY ptycho_settings ./ptycho_settings
COPY ptycho_engine ./ptycho_engine
RUN extras="$(echo ${EXTRAS} | tr ' ' ',')" \
 && pip install ".${extras:+[${extras}]}" \
 && ptycho config show > /dev/null

# A non-root user. Mount inputs (data, config files) read-only under /data and a writable
# directory at /work, where relative output paths land.
RUN useradd --create-home --uid 1000 --shell /usr/sbin/nologin ptycho \
 && mkdir -p /data /work \
 && chown ptycho:ptycho /work
USER ptycho
WORKDIR /work
ENV HOME=/home/ptycho MPLCONFIGDIR=/tmp/matplotlib

ENTRYPOINT ["ptycho"]
CMD ["--help"]
