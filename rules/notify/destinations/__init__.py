"""Alert destinations, one module each; ``Notifier`` picks them by ElastAlert2 alerter name."""
