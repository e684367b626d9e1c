# The Airflow image for council-journeys: Airflow 3.3 with this project installed, so
# `pipeline` imports in every service of docker-compose.yaml (scheduler, dag-processor,
# triggerer, worker, api-server). DAG files are mounted, not baked in.
ARG AIRFLOW_VERSION=3.3.2
FROM apache/airflow:${AIRFLOW_VERSION}-python3.11
ARG AIRFLOW_VERSION

# pip builds in the source tree, so the airflow user must own it.
USER root
RUN mkdir -p /opt/journeys && chown airflow:0 /opt/journeys
USER airflow

WORKDIR /opt/journeys
COPY --chown=airflow:0 pyproject.toml README.md ./
COPY --chown=airflow:0 pipeline ./pipeline
# Great Expectations suites live beside the package (validation.expectations_dir).
COPY --chown=airflow:0 expectations ./expectations
# Pinning apache-airflow keeps pip from moving Airflow itself while it resolves ours.
RUN pip install --no-cache-dir "apache-airflow==${AIRFLOW_VERSION}" '.[postgres]'

WORKDIR /opt/airflow
