"""Benchmarks: ratios against baselines measured in the same run (``python -m bench.run``).

Components run as subprocesses (``bitacora collector``, ``bitacora processor``) so their
CPU time and peak memory come from ``/proc/<pid>`` and include nothing of the load
generator. Baselines (a bare aiokafka producer, a raw ``_bulk`` loader) run in this process
on the same payloads, right before or after the component they measure.
"""
