"""The processor's domain rules as pure code (no Kafka, ClickHouse or Faust): ``rules`` applies
a batch of events (stage 1) or of account changes (stage 2) to keyed ``state``, and collects the
``rows`` ClickHouse stores and the ``contributions`` stage 1 sends to stage 2.

Structs are declared ``gc=False``: they form trees, never cycles, and a batch creates millions of
them; tracking them made Python's cycle collector the processor's largest single cost.
"""
