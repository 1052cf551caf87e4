"""OpenSearch Dashboards saved objects as Jinja2 templates, and the weekly review report."""
