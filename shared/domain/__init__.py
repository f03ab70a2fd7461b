"""The processor's domain rules as pure functions of event sets (no Kafka, ClickHouse or Faust).

One state object per partition key (``shared.topics``): ``ConversationState`` per root post,
``PairState`` per unordered account pair. Each turns the events it is given into ``facts``.
"""
