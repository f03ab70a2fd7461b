"""Prometheus metrics of the sink, on a registry of its own (served by ``__main__``)."""
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry()

ROWS = Counter("richness_sink_rows_total", "Rows inserted into ClickHouse", ["table"], registry=REGISTRY)
BATCH_ROWS = Histogram("richness_sink_batch_rows", "Rows per flushed batch",
                       buckets=(1, 10, 100, 1000, 5000, 10000, 50000, 100000, 250000), registry=REGISTRY)
INSERT_SECONDS = Histogram("richness_sink_insert_seconds", "ClickHouse insert latency per table", ["table"],
                           buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10), registry=REGISTRY)
RETRIES = Counter("richness_sink_retries_total", "Inserts retried after a transient ClickHouse error", ["table"],
                  registry=REGISTRY)
DEAD_LETTERS = Counter("richness_sink_dead_letters_total", "Records or rows sent to the dead-letter topic",
                       ["reason"], registry=REGISTRY)
LAG = Gauge("richness_consumer_lag", "Records of a partition the consumer group has not committed yet",
            ["group", "topic", "partition"], registry=REGISTRY)
