# syntax=docker/dockerfile:1
#
# One image for all five Guildhall services; the command picks the service:
#
#   docker build -t guildhall:local .
#   docker run guildhall:local python -m guildhall_profile
#
# The generated Python stubs in libs/protos/src are committed (`make protos`
# writes them, `make protos-check` keeps them true), so the image needs no
# proto toolchain; the build stops early if they are missing. docker-compose.yml
# and deploy/k8s set the command and the GUILDHALL_* variables per service.

ARG PYTHON_IMAGE=python:3.11-slim

# --- build: install every package into a virtualenv --------------------------
FROM ${PYTHON_IMAGE} AS build

ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /src
RUN python -m venv /opt/guildhall

COPY requirements/constraints.txt requirements/constraints.txt
COPY libs/protos libs/protos
COPY libs/kit libs/kit
COPY services services

# Exact third-party versions come from the same constraints file as the dev
# venv and CI.
RUN set -eu; \
    if [ -z "$(find libs/protos -name '*_pb2.py' -print -quit)" ]; then \
        echo "libs/protos has no generated stubs: run 'make protos' before 'docker build'" >&2; \
        exit 1; \
    fi; \
    /opt/guildhall/bin/pip install -c requirements/constraints.txt \
        ./libs/protos ./libs/kit \
        ./services/profile ./services/community ./services/post \
        ./services/notification ./services/gateway

# --- runtime: the virtualenv, a non-root user, nothing else -----------------
FROM ${PYTHON_IMAGE}

# The development key volume of docker-compose.yml mounts on .local/dev-keys;
# a new named volume copies the directory's owner, so the user can write it.
RUN set -eu; \
    groupadd --system --gid 10001 guildhall; \
    useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/guildhall \
        --no-create-home --shell /usr/sbin/nologin guildhall; \
    mkdir -p /var/lib/guildhall/.local/dev-keys; \
    chown -R 10001:10001 /var/lib/guildhall

COPY --from=build /opt/guildhall /opt/guildhall

# The root filesystem is read-only in compose and Kubernetes: bytecode was
# compiled at install time and nothing may try to write more.
ENV PATH=/opt/guildhall/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    GUILDHALL_ROOT=/var/lib/guildhall \
    GUILDHALL_GRPC_HOST=0.0.0.0

WORKDIR /var/lib/guildhall
USER 10001:10001

# gRPC: profile 50051, community 50052, post 50053, notification 50054,
# gateway 50055; the gateway's HTTP/JSON face on 8080.
EXPOSE 50051 50052 50053 50054 50055 8080
STOPSIGNAL SIGTERM

CMD ["python", "-c", "raise SystemExit('choose a service: python -m guildhall_<profile|community|post|notification|gateway>')"]
