"""Notification: dedup/realert/silence policy (pure), templates, destinations, retries."""
