"""queue-crawler: a distributed image crawler built on multiprocessing's BaseManager."""

__version__ = "0.1.0"
