"""Alert rules: the model, the rule types, the engine (pure) and the shipped YAML rules.

Public entry points: ``rules.loader.load_rules``, ``rules.engine`` (``compile_rule``,
``evaluate``, ``tick``, ``RuleSet``), ``rules.alerts.Alert``, ``rules.replay``
(``Engine``, ``run_rules_over``) and ``rules.notify`` (policy, templates, destinations).
"""
