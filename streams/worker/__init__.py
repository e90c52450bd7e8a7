"""What the Faust app runs: topics, tables, agents and views (found by autodiscovery).

Imports ``streams.events`` and ``streams.app``, never the client or the poller. The pure core
is ``rules`` (shadow-IT rules) and ``state`` (table updates); agents are thin loops around it.
"""
