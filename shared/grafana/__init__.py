"""What Grafana does with the project's dashboards and alert rules, reproduced in plain Python so
it can be tested and run without Grafana: query expansion (``macros``), the provisioning files
(``provisioning``) and the alert rules' server-side expressions (``expressions``)."""
