"""The exception tree: one class per decision a caller makes."""


class CrawlerError(Exception):
    """Root of every error this package raises on purpose; its text is one readable line."""


class ConfigError(CrawlerError):
    """A flag, file or combination of options that cannot work; fix the command line."""


class SeedError(CrawlerError):
    """No usable seed URL at all (single bad lines are reported and skipped, not raised)."""


class BadMessage(CrawlerError, ValueError):
    """A queue message that is not a valid message of our protocol; drop it and carry on."""


class SchedulerUnreachable(CrawlerError):
    """Nothing answers at the scheduler's address, or the connection broke."""


class BadAuthkey(CrawlerError):
    """The scheduler rejected our authkey, or a key is missing, weak or badly protected."""


class StateError(CrawlerError):
    """The crawl state under the output directory cannot be used as asked (exists, corrupt, locked)."""


class StorageError(CrawlerError):
    """The output path cannot be written; `reason` is a token such as `disk-full` or `read-only`."""

    def __init__(self, message: str, reason: str = "storage-error") -> None:
        super().__init__(message)
        self.reason = reason


class FetchError(CrawlerError):
    """A download that failed for good; `reason` is a short token such as `http-404` or `too-large`."""

    retryable = False

    def __init__(self, url: str, reason: str, retry_after: float | None = None, status: int | None = None) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason
        self.retry_after = retry_after
        self.status = status  # the HTTP status, when the server answered with one


class TransientFetchError(FetchError):
    """A download that failed in a way a later attempt may fix (timeouts, 5xx, 429)."""

    retryable = True
