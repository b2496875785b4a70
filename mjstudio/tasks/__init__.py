"""The studio's tasks, from the record to the service the pages call.

- The record and its states: ``record``.
- The SQLite store: ``store`` (the operations), ``schema`` (columns, indexes), ``migrations``
  (ordered schema steps, run once at open), ``search`` (FTS5 trigram prompt search),
  ``connections`` and ``database`` (one kept connection per thread), ``sqlite`` (plain errors,
  private files, damage repair).
- The background tracker: ``tracker`` (the loop: sleeps until the next due task or a wake),
  ``creates`` (the create lane, ahead of polls), ``statuses`` (status calls on one event loop),
  ``ratelimit`` (the token bucket of the provider's budget), ``schedule`` and ``learned`` (when
  to poll, learned from past costTime), ``polling`` (what a poll's outcome means),
  ``downloads`` (checked, atomic result files), ``clients`` (one API client per connection),
  ``leader`` (one tracker per data folder) and ``recovery``.
- Around them: ``uploads`` (reference images the studio serves), ``archive`` (history export
  and import; ``archive_import``, ``archive_checks``), ``batches`` (prompt matrices and sweeps
  as boards) and ``sheet`` (contact sheets), and ``service.Studio``, the one object the pages
  and routes call.

It imports ``mjstudio.api``, ``mjstudio.config`` and ``mjstudio.images``, never the server or
the UI.
"""
