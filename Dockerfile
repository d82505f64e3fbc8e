# The image of docker-compose.yml: Airflow's official image with the project's pinned requirements and
# the project itself baked in, and the dbt manifest the DAG renders from built here (`dbt parse` needs no
# database). Nothing is installed when a container starts.
FROM apache/airflow:3.3.2-python3.11

# Telemetry of dbt, Great Expectations and Cosmos is switched off by offline.env: docker-compose.yml
# gives it to every container of this image (env_file), and the manifest build below applies it itself.
ENV PYTHONPATH=/opt/airflow/shangqiu

# As the airflow user, into the image's virtualenv (the image's documented way to add packages).
# requirements.txt pins apache-airflow to the version of the FROM line.
USER airflow
COPY --chown=airflow:0 requirements.txt /opt/airflow/requirements.txt
RUN pip install --no-cache-dir -r /opt/airflow/requirements.txt

# Group 0 may write what the services write (compose runs them as AIRFLOW_UID:0): the mount points of
# the state and landing folders, the dbt logs and GX's uncommitted validation results and Data Docs.
RUN umask 0002; mkdir -p /opt/airflow/shangqiu /opt/airflow/state /opt/airflow/landing
WORKDIR /opt/airflow/shangqiu
COPY --chown=airflow:0 dags/ dags/
COPY --chown=airflow:0 include/ include/
COPY --chown=airflow:0 plugins/ plugins/
COPY --chown=airflow:0 dbt_project/ dbt_project/
COPY --chown=airflow:0 expectations/ expectations/
COPY --chown=airflow:0 offline.env offline.env
RUN umask 0002; python -m include.cli manifest \
    && mkdir -p expectations/gx/uncommitted \
    && chmod g+w dbt_project expectations/gx
