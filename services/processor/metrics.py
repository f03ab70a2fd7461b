"""Prometheus metrics of the processor."""
from prometheus_client import Counter, Gauge, Histogram

EVENTS = Counter("richness_processor_events_total", "Events processed", ["agent"])
FACTS = Counter("richness_processor_facts_total", "Facts emitted", ["kind"])
BATCH_SIZE = Histogram("richness_processor_batch_size", "Events per processed batch",
                       buckets=(1, 10, 50, 100, 500, 1000, 2000, 5000, 10000))
BATCH_SECONDS = Histogram("richness_processor_batch_seconds", "Time to apply one batch to state",
                          buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
DEAD_LETTERS = Counter("richness_processor_dead_letters_total", "Records sent to the dead-letter topic", ["reason"])
LAG = Gauge("richness_consumer_lag", "Records of a partition the consumer group has not committed yet",
            ["group", "topic", "partition"])
