"""The alerting role and its stages: route -> detect -> notify; silences."""
