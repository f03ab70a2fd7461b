"""The stream processor: Faust agents that turn events into facts (reply depth, edge history)."""
