"""The Grafana dashboards and alert rules of ``grafana/``, run without Grafana: every panel's
query as the ClickHouse plugin would send it, drawn to PNG (``render``), and the engagement-drop
rules evaluated as Grafana would (``alerts``). Always with the read-only ClickHouse user."""
