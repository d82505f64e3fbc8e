"""BI for the published marts: Apache Superset in its own venv (``make bi``), provisioned from ``bi/``."""
