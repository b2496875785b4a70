"""The studio's tasks: the record and its states (``record``), the SQLite store (``store``),
the background tracker that sends, polls and downloads (``tracker``, with one API client per
connection from ``clients``), uploaded reference images (``uploads``) and ``service.Studio``,
the one object the pages and routes call. It imports ``mjstudio.api``, ``mjstudio.config`` and
``mjstudio.images``, never the server or the UI.
"""
