"""The studio's tasks: the record and its states (``record``), the SQLite store (``store``,
with its schema, connections and error mapping in ``schema`` and ``sqlite``), the background
tracker that sends, polls and downloads (``tracker``, with ``polling`` for the poll decisions,
``downloads`` for checked, atomic result files, ``clients`` for one API client per connection
and ``leader`` for the one-tracker-per-folder lock), uploaded reference images (``uploads``),
the designer's recovery actions (``recovery``) and ``service.Studio``, the one object the pages
and routes call. It imports ``mjstudio.api``, ``mjstudio.config`` and ``mjstudio.images``,
never the server or the UI.
"""
