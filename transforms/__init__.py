"""trackscope: all pipeline logic, importable and testable without Airflow."""
