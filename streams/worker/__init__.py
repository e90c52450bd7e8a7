"""What the Faust app runs: topics, tables, agents and views, registered by ``create_app``.

Imports ``streams.events`` and ``streams.kafkaio``, never ``streams.app``, the client or the
poller. The pure core is ``rules`` (shadow-IT rules) and ``state`` (table updates); agents are
thin loops around it. ``context.WorkerContext`` holds what one app's agents and views share.
"""
