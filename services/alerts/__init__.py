"""Alerts that reach people: the local alert loop (`richness alerts watch`), a webhook receiver
(`richness alerts receive`), the local Alertmanager, and the notification configuration that
docker-compose's Grafana and Alertmanager load (`richness alerts configure`)."""
