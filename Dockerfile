# The Bitácora image used by compose.yaml (setup, collector, processor).
# The first stage builds the wheel: the install compiles the normalizer with mypyc, which
# needs a C compiler; the image itself carries only the wheel's result.
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends gcc libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml setup.py README.md constraints.txt ./
COPY bitacora ./bitacora
COPY collector ./collector
COPY processors ./processors
COPY rules ./rules
COPY dashboards ./dashboards
RUN pip wheel --no-cache-dir --no-deps -w /wheels .

FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY constraints.txt ./
COPY --from=build /wheels /wheels
# constraints.txt pins every runtime dependency (scripts/pin-constraints); CI tests these.
RUN pip install -c constraints.txt /wheels/bitacora-*.whl \
    && rm -rf /wheels \
    && useradd --system --create-home --home-dir /var/lib/bitacora bitacora
USER bitacora
EXPOSE 24224/tcp 24224/udp 9880
CMD ["bitacora", "--help"]
