"""Prometheus metrics of the processor, on a registry of its own (served by ``__main__``)."""
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry()

INPUTS = Counter("richness_processor_inputs_total", "Inputs processed: events (stage events), account changes "
                 "(stage accounts)", ["stage"], registry=REGISTRY)
EVENTS = INPUTS.labels("events")
CHANGES = Counter("richness_processor_changes_total", "Account changes sent by the event rules", registry=REGISTRY)
ROWS = Counter("richness_processor_facts_total", "Rows sent to ClickHouse, by kind (thread, day, follower)",
               ["kind"], registry=REGISTRY)
STATE_WRITES = Counter("richness_processor_state_writes_total", "State entries written (changelog records)",
                       ["stage"], registry=REGISTRY)
BATCH_SIZE = Histogram("richness_processor_batch_size", "Inputs per processed batch", ["stage"],
                       buckets=(1, 10, 50, 100, 500, 1000, 2000, 5000, 10000, 50000), registry=REGISTRY)
BATCH_SECONDS = Histogram("richness_processor_batch_seconds", "Time to process one batch, outputs and state "
                          "durable", ["stage"], buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
                          registry=REGISTRY)
DEAD_LETTERS = Counter("richness_processor_dead_letters_total", "Records or inputs sent to the dead-letter topic",
                       ["reason"], registry=REGISTRY)
SKIPPED_OFFSETS = Counter("richness_processor_skipped_offsets_total", "Input offsets passed over because the log "
                          "holds no record there (retention, or a produce that failed)", ["stage"], registry=REGISTRY)
LAG = Gauge("richness_consumer_lag", "Records of a partition the consumer group has not committed yet",
            ["group", "topic", "partition"], registry=REGISTRY)
