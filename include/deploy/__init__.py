"""How the project runs under Airflow: the services (``services``), their REST API (``api``) and
``make run``'s driver (``runner``)."""
