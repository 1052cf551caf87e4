"""``bitacora ui``: the web console (explore, live tail, dashboards, alerts) over OpenSearch.

An application: it may import anything; only the CLI and the runner import it.
"""
