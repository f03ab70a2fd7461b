"""Kafka adapters shared by every service (aiokafka underneath)."""
