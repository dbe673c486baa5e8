"""What a person reads after (or during) a crawl: the report of `crawler inspect` (`report`), the
HTML gallery (`gallery`) and the live terminal display (`display`).

It reads the output directory's files only; it never imports `crawler.scheduler` or `crawler.node`.
"""
