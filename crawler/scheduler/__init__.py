"""The scheduler side: one process per crawl that decides what is fetched, and remembers it.

It owns the crawl loop (`loop`), the frontier of what to fetch next and when (`frontier`), the
durable store behind it (`store`: the interface, its SQLite and in-memory backends), the records
written to the output (`records`), robots.txt rules (`robots`) and the live status (`status`).

It never imports `crawler.node` (nodes fetch; the scheduler never does) nor `crawler.output`.
"""
