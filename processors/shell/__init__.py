"""The batch shell the batch roles share: consume, hand a batch to a pure stage, produce, commit."""
