# The image the CloudFormation stack's task runs (README, "Deploying to AWS"): the `shopwarehouse` command,
# the dbt project it builds, and profiles.yml.example as the profile, whose targets read every setting and
# secret from the environment the task is given. tests/python/test_image.py lints this file, checks that
# what it copies is what the package and dbt read, and parses the dbt project as the image holds it.
#
# Every runtime dependency has a manylinux wheel for CPython 3.11, so nothing is compiled. The build stage
# keeps the package's sources and pip's build of it out of the image the task pulls.
FROM python:3.11.17-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
WORKDIR /build
COPY pyproject.toml constraints.txt README.md ./
COPY src src
RUN python -m venv /opt/venv \
    && pip install --no-cache-dir pip==25.3 \
    && pip install --no-cache-dir --constraint constraints.txt .

FROM python:3.11.17-slim-bookworm
# The run writes only under its home: dbt's artefacts and logs, and the KPI dashboard (which a Fargate
# task's disk does not keep). The project itself stays root's, read-only to the run.
RUN groupadd --system --gid 10001 shopwarehouse \
    && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /var/lib/shopwarehouse shopwarehouse
COPY --from=build /opt/venv /opt/venv
# The dbt project: the command runs dbt on the project in its working directory.
WORKDIR /opt/shopwarehouse
COPY dbt_project.yml selectors.yml ./
COPY macros macros
COPY models models
COPY seeds seeds
COPY snapshots snapshots
COPY tests tests
COPY profiles.yml.example profiles.yml
# No Prometheus textfiles: nothing collects them from a task, and the stack sends the metrics to CloudWatch
# (SHOPWAREHOUSE_METRICS_NAMESPACE).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    DBT_PROFILES_DIR=/opt/shopwarehouse \
    DBT_TARGET_PATH=/var/lib/shopwarehouse/target \
    DBT_LOG_PATH=/var/lib/shopwarehouse/logs \
    SHOPWAREHOUSE_REPORT_PATH=/var/lib/shopwarehouse/kpi_report.html \
    SHOPWAREHOUSE_METRICS_TEXTFILE_DIR=
USER 10001:10001
ENTRYPOINT ["shopwarehouse"]
CMD ["--help"]
