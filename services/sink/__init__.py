"""The sink: events and facts from Kafka into ClickHouse, offsets committed only after insert."""
