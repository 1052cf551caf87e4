"""Alert rules: the model, the rule types, the engine (pure) and the shipped YAML rules."""
