"""The node side: a crawler node takes tasks, fetches them and reports what it found.

It owns the worker process (`worker`), one task's handling (`handlers`), HTTP with limits
(`fetcher`), what a page or stylesheet refers to (`extract`, `css`, `srcset`) and the check and
storage of image bytes (`images`).

It never imports `crawler.scheduler` (state lives with the scheduler and reaches a node only as
messages) nor `crawler.output`.
"""
