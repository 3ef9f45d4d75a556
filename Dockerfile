# Stigen as a container: the wheel built from this checkout, installed with the pinned
# dependencies into a slim Python image, run by gunicorn with the shipped config as a
# non-root user. tests/test_wheel.py runs the same steps (build the wheel, install it
# with constraints.txt into a fresh environment, `stigen db upgrade`, gunicorn with
# `-c python:survey.gunicorn_conf`) where no container engine runs (docs/deploy.md).

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml setup.py README.md MANIFEST.in constraints.txt ./
COPY survey survey
COPY templates templates
COPY translations translations
COPY migrations migrations
RUN pip wheel --no-deps --wheel-dir /dist .

FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STIGEN_ENV=production \
    STIGEN_LOG_FORMAT=json \
    STIGEN_BIND=0.0.0.0:8080 \
    STIGEN_INSTANCE_PATH=/tmp/stigen \
    PROMETHEUS_MULTIPROC_DIR=/tmp/stigen-metrics
COPY --from=build /dist /dist
COPY constraints.txt /dist/
RUN pip install --no-cache-dir -c /dist/constraints.txt "$(ls /dist/stigen-*.whl)[redis]" \
    && rm -rf /dist \
    && useradd --system --uid 1069 --no-create-home --shell /usr/sbin/nologin stigen
USER 1069
WORKDIR /tmp
EXPOSE 8080
# The platform probes /isalive and /isready itself; this is for plain `docker run`.
HEALTHCHECK --interval=30s --timeout=3s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/isalive', timeout=2)"
# Migrations run as a separate step before a new version serves (docs/deploy.md):
#   docker run --rm -e DATABASE_URL=… stigen stigen db upgrade
CMD ["gunicorn", "-c", "python:survey.gunicorn_conf", "survey:create_app()"]
