"""The studio's tasks, from the record to the service the pages call.

- The record and its states: ``record``.
- The store, on SQLite or PostgreSQL: ``store`` (the operations), ``backend`` (the engine and
  what differs between the two), ``schema`` (columns, indexes), ``migrations`` and
  ``revisions`` (Alembic, run at open), ``search`` (FTS5 trigram or pg_trgm prompt search),
  ``connections`` and ``database`` (kept connections), ``sqlite`` (plain errors, private
  files, damage repair), ``leases`` (which server works on which task; the shared budget).
- The background tracker: ``tracker`` (the loop: sleeps until the next due task or a wake),
  ``creates`` (the create lane, ahead of polls), ``statuses`` (status calls on one event loop),
  ``ratelimit`` (the token bucket of the provider's budget), ``schedule`` and ``learned`` (when
  to poll, learned from past costTime), ``polling`` (what a poll's outcome means),
  ``downloads`` (checked, atomic result files), ``clients`` (one API client per connection)
  and ``recovery``.
- Around them: ``uploads`` (reference images the studio serves), ``archive`` (history export
  and import; ``archive_import``, ``archive_checks``), ``batches`` (prompt matrices and sweeps
  as boards) and ``sheet`` (contact sheets), and ``service.Studio``, the one object the pages
  and routes call.

It imports ``mjstudio.api``, ``mjstudio.config`` and ``mjstudio.images``, never the server or
the UI.
"""
