"""The server's routes, each module one ``add_*`` function over a :class:`~malmoi.serve.source.BotSource`.

Every route here is written once and added by :func:`malmoi.serve.builder.build_app` for one
model and for a registry alike (a registry's bot routes under ``/v1/bots/{bot}``), except those
of :mod:`.registry`, which only a registry has. A new route goes in a module here and is added in
``build_app``: see docs/architecture.md ("Serving").

* :mod:`.api`: ``POST parse``, ``POST chat``, ``DELETE conversations/{user_id}`` (JSON)
* :mod:`.kochat`: Kochat's ``request_chat``, ``fill_slot``, ``get_intent``, ``get_entity``
* :mod:`.page`: the web chat page and its files (one model)
* :mod:`.review`: the review page and its API
* :mod:`.registry`: a registry's bot description, versions, publishing, rollback, statistics
"""
