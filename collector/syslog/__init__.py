"""Syslog input: UDP, TCP (octet counting or LF framing) and TLS (RFC 5425).

``framing`` splits a TCP stream into messages (pure), ``server`` serves the sockets and
publishes one raw record per message. The header (PRI, HOSTNAME, APP-NAME ...) is read by
the normalizer (``normalize.sources.syslog``), where a line that is not syslog is
dead-lettered with its reason.
"""
