# The Bitácora image used by compose.yaml (setup, collector, processor).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY bitacora ./bitacora
COPY collector ./collector
COPY processors ./processors
COPY rules ./rules
COPY dashboards ./dashboards
# constraints.txt pins every runtime dependency (scripts/pin-constraints); CI tests these.
RUN pip install -c constraints.txt . \
    && useradd --system --create-home --home-dir /var/lib/bitacora bitacora
USER bitacora
EXPOSE 24224/tcp 24224/udp 9880
CMD ["bitacora", "--help"]
