"""Airflow plugins of the project (loaded from AIRFLOW__CORE__PLUGINS_FOLDER)."""
