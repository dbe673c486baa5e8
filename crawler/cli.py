"""Command line: `crawler scheduler|worker|run|demo|keygen|status|inspect|export`.

It parses words into the config dataclasses (which refuse what cannot work), runs the command
through supervise.py, and says how it ended.
"""

from __future__ import annotations

import argparse
import difflib
import json
import logging
import os
import re
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler import broker, urllog
from crawler.config import (
    ALL_TYPES,
    SRCSET_CHOICES,
    FetchLimits,
    ImageFilter,
    Limits,
    Politeness,
    RequestOptions,
    SchedulerConfig,
    Scope,
    WorkerConfig,
)
from crawler.credentials import check_environment, parse_header, read_basic_auth, read_cookies
from crawler.errors import ConfigError, CrawlerError, SeedError, StorageError
from crawler.named_files import SETTINGS_FILE_BYTES, read_bounded
from crawler.output.report import opted_out_images, recrawl_line
from crawler.seeds import read_seeds
from crawler.storage import MANIFEST_NAME, STATE_DIR, is_manifest_record, is_the_crawls_own, read_jsonl
from crawler.supervise import LocalNodes, LocalWorkers, run_local_crawl, run_node, run_scheduler, terminal
from crawler.units import (
    ascii_digits,
    checked_seconds,
    checked_size,
    duration_text,
    host_port,
    parse_seconds,
    parse_size,
    path_option,
    plural,
    seconds_option,
    size_option,
    size_text,
)
from crawler.urls import CALENDAR_DAYS, CALENDAR_YEARS, MAX_PATH_SEGMENTS, canonical, host_of, origin_of

if TYPE_CHECKING:  # a node's processes never load the scheduler
    from crawler.scheduler.loop import Summary

log = logging.getLogger("crawler")

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_PAGES_UNREACHABLE = 3  # finished, but pages or sites failed (network, 5xx, 429) after every attempt
EXIT_NOTHING_FETCHED = 4  # finished without fetching a single page or image: every seed failed
EXIT_CODES_HELP = """exit status (like wget's, for scripts):
  0    the crawl finished and saved what it found (broken links and skipped URLs included;
       a re-crawl that found nothing changed too)
  1    an error before or outside the crawl (options, key, output directory, state)
  2    the command line could not be parsed
  3    the crawl finished, but pages or whole sites failed on the network or with server
       errors (5xx, 429) after every attempt: see failures.jsonl (a new crawl tries them again)
  4    nothing could be fetched at all: every seed failed (see the warnings and failures.jsonl)
  130  interrupted (Ctrl-C or SIGTERM); the same command with --resume carries on"""
DEFAULT_PORT = 50000
DEMO_SITE = Path("seeds/demo-site")


# -- argument helpers ---------------------------------------------------------------------------

def _address(text: str) -> tuple[str, int]:
    if "://" in text:  # a URL copied in: the host was taken to be "http://host", and the DNS asked for it
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}: a scheduler is no web server, "
                                         "leave out the scheme")
    host, _, port = text.rpartition(":")
    if not host or not ascii_digits(port) or not 0 <= int(port) < 65536:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    if host.startswith("[") and host.endswith("]"):
        return host[1:-1], int(port)
    if ":" in host:  # also the address ::1:50000, with no port
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}: an IPv6 address goes in brackets: "
                                         f"[{host}]:{port}")
    return host, int(port)


def _addresses(text: str) -> list[tuple[str, int]]:
    return [_address(part.strip()) for part in text.split(",") if part.strip()] or [_address(text)]


def _argument_type(parse: Callable[[str], Any]) -> Callable[[str], Any]:
    """An argparse type from a parser whose ValueError is already a sentence."""
    def convert(text: str) -> Any:
        try:
            return parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc
    return convert


_seconds = _argument_type(parse_seconds)  # a time with an optional unit (1.5s, 500ms, 2m, 1h)
_size = _argument_type(parse_size)  # a size with an optional unit (5M, 20MiB, 512k)


def _domain(text: str) -> str:
    """An argparse type: a domain name, or the host of a URL (`https://cdn.example.com/` → cdn.example.com)."""
    value = text.strip()
    if "://" in value:
        value = host_of(value)
    value = value.rstrip(".").lower()
    if not value or not all(part and all(c.isalnum() or c == "-" for c in part) for part in value.split(".")):
        raise argparse.ArgumentTypeError(f"{text!r} is not a domain name (like cdn.example.com) or a URL")
    return value


def _positive(kind: Callable[[str], float]) -> Callable[[str], float]:
    """An argparse type: `kind` (int or float) that must not be negative."""
    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a {'whole ' if kind is int else ''}number: {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
        return value
    return parse


def _pixels(text: str) -> float:
    """An argparse type: a width or height, `200` or `200px` (the help names it PX)."""
    stripped = text.strip()
    return _positive(int)(stripped[:-2] if stripped.lower().endswith("px") else stripped)


def _folder(text: str) -> Path:
    """An argparse type: an output folder. An empty one, as an unset shell variable gives (-o "$OUT"),
    meant the current folder, where the crawl's files then went among the user's."""
    if not text.strip():
        raise argparse.ArgumentTypeError("empty (an unset shell variable?); name a folder, . for this one")
    return Path(text)


# Other names of --types' kinds: file extensions, and what follows "image/" in a Content-Type.
_TYPE_ALIASES = {"jpg": "jpeg", "jpe": "jpeg", "jfif": "jpeg", "pjpeg": "jpeg", "tif": "tiff", "svgz": "svg",
                 "svg+xml": "svg", "heif": "heic", "x-icon": "ico", "vnd.microsoft.icon": "ico", "x-ms-bmp": "bmp"}


def _types(text: str) -> tuple[str, ...]:
    """An argparse type: the image kinds --types keeps, by name, file extension or media type
    (`jpg`, `.tif`, `image/png`)."""
    given = (t.strip().lower().removeprefix("image/").removeprefix(".") for t in text.split(","))
    names = tuple(_TYPE_ALIASES.get(name, name) for name in given if name)
    unknown = [n for n in names if n not in ALL_TYPES]
    if unknown or not names:
        what = f"unknown image type{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}" if unknown else "no type"
        raise argparse.ArgumentTypeError(f"{what}; choose from {','.join(ALL_TYPES)}")
    return names


def _add_logging(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("-q", "--quiet", action="store_true",
                       help="no progress: warnings and errors, where to reach the crawl, and how it ended")
    group.add_argument("-v", "--verbose", action="store_true",
                       help="one line per URL (saved, failed, skipped, with the reason) and debug detail")


def _add_key(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--authkey-file", type=Path, metavar="FILE",
                        help=f"file holding the shared key (chmod 600; `crawler keygen` makes one); "
                             f"or set ${broker.AUTHKEY_ENV}")


def _add_crawl_options(parser: argparse.ArgumentParser, output_default: str | None) -> None:
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="read options from a TOML file (keys are the long option names: max-pages = 200, "
                             "delay = \"1s\", seeds = [...]); the command line overrides it")
    parser.add_argument("--log-file", type=Path, metavar="FILE",
                        help="write what became of every URL to FILE as JSON Lines, whatever the terminal shows "
                             "(-: standard output)")
    parser.add_argument("seeds", nargs="*", metavar="SEED",
                        help="seed files (one URL per line, # comments; - reads them from standard input) "
                             "and/or URLs")
    parser.add_argument("-o", "--output", type=_folder, default=output_default, required=output_default is None,
                        help="output directory on the shared disk" + (
                            f" (default: {output_default})" if output_default else ""))
    scope = parser.add_argument_group("scope and limits")
    scope.add_argument("--allow-domain", action="append", default=[], metavar="DOMAIN", type=_domain,
                       help="also crawl pages of this domain and its subdomains (repeatable; a URL gives its "
                            "host); default: the seeds' hosts and their www twins")
    scope.add_argument("--same-host-images", action="store_true",
                       help="fetch images and stylesheets only from the pages' scope, not from any host "
                            "an in-scope page points at (a CDN)")
    scope.add_argument("--deny", action="append", default=[], metavar="REGEX",
                       help="skip URLs matching this regular expression (repeatable)")
    scope.add_argument("--accept", action="append", default=[], metavar="REGEX",
                       help="crawl only pages whose URL matches (repeatable); their images come whatever "
                            "their URL (drop those with --deny)")
    scope.add_argument("--no-parent", action="store_true",
                       help="never go above a seed's folder on its site (pages; images come from anywhere)")
    sitemaps = scope.add_mutually_exclusive_group()
    sitemaps.add_argument("--no-sitemaps", action="store_true",
                          help="do not read the sitemaps robots.txt lists (or /sitemap.xml) for pages and images")
    sitemaps.add_argument("--sitemaps-only", action="store_true",
                          help="crawl the pages the sites' sitemaps list (and the seeds), with their images; "
                               "follow no links")
    scope.add_argument("--max-depth", type=_positive(int), metavar="N", help="link hops from a seed")
    scope.add_argument("--max-pages", type=_positive(int), metavar="N", help="pages admitted, seeds included")
    scope.add_argument("--max-images", type=_positive(int), metavar="N", help="stop after N images saved")
    scope.add_argument("--max-bytes", type=_size, metavar="SIZE",
                       help="stop once images of this size in all are saved (wget's --quota; those in flight "
                            "still land)")
    scope.add_argument("--max-time", type=_seconds, metavar="TIME", help="stop after this long (1.5s, 2m, 1h)")
    polite = parser.add_argument_group("politeness")
    polite.add_argument("--delay", type=_seconds, default=Politeness.delay_seconds, metavar="TIME",
                        help=f"gap between requests to one host (default: {seconds_option(Politeness.delay_seconds)}; "
                             "0 for sites you own)")
    polite.add_argument("--per-host", type=_positive(int), default=Politeness.per_host, metavar="N",
                        help="requests in flight to one host (default: %(default)s)")
    polite.add_argument("--ignore-robots", action="store_true",
                        help="do not read robots.txt, nor obey X-Robots-Tag, <meta name=robots>, TDMRep's "
                             "tdm-reservation and rel=nofollow (only for sites you own)")
    polite.add_argument("--user-agent", default=FetchLimits.user_agent, metavar="TEXT",
                        help="User-Agent header (default: %(default)s)")
    requests_group = parser.add_argument_group("requests")
    requests_group.add_argument("--header", action="append", default=[], metavar="'NAME: VALUE'",
                                help="send this header with every request (repeatable)")
    requests_group.add_argument("--cookies", type=Path, metavar="FILE",
                                help="send the cookies of this Netscape cookies.txt (as browser add-ons export it)")
    requests_group.add_argument("--auth-file", type=Path, metavar="FILE",
                                help="HTTP basic auth: lines 'HOST USER:PASSWORD' in a file only you can read "
                                     "(sent to that host only; never on the command line)")
    requests_group.add_argument("--no-check-certificate", "--insecure", action="store_true",
                                dest="no_check_certificate",
                                help="accept any TLS certificate: self-signed, expired, for another host "
                                     "(wget's --no-check-certificate, curl's --insecure; for sites you know)")
    fetching = parser.add_argument_group("fetching and images")
    fetching.add_argument("--timeout", type=_seconds, default=FetchLimits.total_seconds, metavar="TIME",
                          help=f"whole-download limit (default: {seconds_option(FetchLimits.total_seconds)})")
    fetching.add_argument("--min-speed", type=_size, default=FetchLimits.min_bytes_per_second, metavar="SIZE",
                          help="bytes per second below which a transfer is cut as too-slow, on average over "
                               f"--min-speed-time (default: {size_option(FetchLimits.min_bytes_per_second)}; 0: none)")
    fetching.add_argument("--min-speed-time", type=_seconds, default=FetchLimits.min_speed_seconds, metavar="TIME",
                          help="the window --min-speed is averaged over "
                               f"(default: {seconds_option(FetchLimits.min_speed_seconds)})")
    fetching.add_argument("--max-page-bytes", type=_size, default=FetchLimits.max_page_bytes, metavar="SIZE",
                          help="pages and stylesheets are cut here "
                               f"(default: {size_option(FetchLimits.max_page_bytes)})")
    fetching.add_argument("--max-image-bytes", type=_size, default=FetchLimits.max_image_bytes, metavar="SIZE",
                          help=f"larger images are refused (default: {size_option(FetchLimits.max_image_bytes)})")
    fetching.add_argument("--min-bytes", type=_size, default=ImageFilter.min_bytes, metavar="SIZE",
                          help="skip smaller images (like 2k)")
    fetching.add_argument("--min-width", type=_pixels, default=ImageFilter.min_width, metavar="PX",
                          help="skip narrower images")
    fetching.add_argument("--min-height", type=_pixels, default=ImageFilter.min_height, metavar="PX",
                          help="skip shorter images")
    fetching.add_argument("--types", type=_types, default=ImageFilter.types, metavar="LIST",
                          help=f"image types to keep (default: all of {','.join(ALL_TYPES)})")
    fetching.add_argument("--srcset", choices=SRCSET_CHOICES, default=ImageFilter.srcset,
                          help="of an image's srcset sizes: all (every size a browser may load; default), or "
                               "largest (the widest only: one copy of each picture)")
    state = parser.add_argument_group("state")
    # One choice of how to start, the last one given winning as for any option: "the same command
    # with --resume" then carries on a crawl begun with --fresh, and a crawl file's choice gives way.
    state.add_argument("--resume", dest="start", action="store_const", const="resume",
                       help="carry on the crawl saved in the output directory")
    state.add_argument("--fresh", dest="start", action="store_const", const="fresh",
                       help="discard a saved crawl state and start over")
    state.add_argument("--recrawl", dest="start", action="store_const", const="recrawl",
                       help="crawl the saved crawl again: ask for every known page and image with its "
                            "ETag/Last-Modified, download only what changed, record what is gone")
    state.add_argument("--state", metavar="redis://HOST:PORT/DB",
                       help="keep the crawl's state in Redis (or Valkey) instead of SQLite in the output directory")
    state.add_argument("--crawl", metavar="NAME", help="with --state: the crawl's name in that Redis")
    state.add_argument("--recrawl-older-than", type=_seconds, metavar="TIME",
                       help="with --recrawl: check only what was last fetched longer ago than this (7d, 12h)")
    state.add_argument("--recrawl-fresh", action="store_true",
                       help="with --recrawl: check also what its server said is still fresh (Cache-Control "
                            "max-age, Expires), which is otherwise left as it is")
    state.add_argument("--prune", action="store_true",
                       help="with --recrawl: delete the files of images that are gone from their sites (404/410)")
    state.add_argument("--max-attempts", type=_positive(int), default=SchedulerConfig.max_attempts, metavar="N",
                       help="tries per URL (default: %(default)s)")
    state.add_argument("--lease-seconds", type=_seconds, metavar="TIME",
                       help="time a node has for one task before it is given to another "
                            "(default: 2 x --timeout + 30)")
    state.add_argument("--node-timeout", type=_seconds, default=SchedulerConfig.node_timeout_seconds,
                       metavar="TIME", help="a node silent this long is taken as dead and its tasks are handed "
                                            "out again (default: "
                                            f"{seconds_option(SchedulerConfig.node_timeout_seconds)})")
    state.add_argument("--storage-pause", type=_seconds, default=SchedulerConfig.storage_pause_seconds,
                       metavar="TIME", help="when a node cannot write the output (full, read-only), image tasks "
                                            "wait this long (default: "
                                            f"{seconds_option(SchedulerConfig.storage_pause_seconds)})")
    _add_logging(parser)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crawler", formatter_class=argparse.RawDescriptionHelpFormatter,
        description="A distributed image crawler: a scheduler hands out pages and images, crawler nodes on\n"
                    "any number of machines fetch them and save every image a browser would show.",
        epilog="start with:  crawler demo      (crawls the demo site in seeds/demo-site, offline)\n"
               "             crawler run https://example.com/ --output output\n"
               "`crawler COMMAND --help` tells more about each command.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", title="commands")

    scheduler = commands.add_parser(
        "scheduler", help="coordinate a crawl and serve tasks to crawler nodes",
        description="Coordinate a crawl: read the seeds, hand out tasks to crawler nodes over an authkey-\n"
                    "protected socket, obey robots.txt and politeness for all of them, keep the state for\n"
                    "--resume, and write the manifest.",
        epilog="example (machine A; nodes then run `crawler worker --connect A:50000 --authkey-file ~/.crawler.key`):\n"
               "  crawler keygen ~/.crawler.key\n"
               "  crawler scheduler seeds/example.txt --output /mnt/shared/output \\\n"
               "      --listen 0.0.0.0:50000 --authkey-file ~/.crawler.key\n\n" + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_crawl_options(scheduler, output_default=None)
    scheduler.add_argument("--listen", type=_address, default=("127.0.0.1", DEFAULT_PORT), metavar="HOST:PORT",
                           help=f"address to serve nodes on (default: 127.0.0.1:{DEFAULT_PORT}; "
                                "0.0.0.0:PORT for other machines, [::]:PORT over IPv6 too)")
    _add_key(scheduler)

    worker = commands.add_parser(
        "worker", help="a crawler node: fetch tasks from a scheduler",
        description="A crawler node: take tasks from a scheduler, fetch pages, stylesheets and images, save\n"
                    "verified images to the shared output, report back. Keeps no crawl state.",
        epilog="example:  crawler worker --connect A:50000 --authkey-file ~/.crawler.key --threads 16 --processes 2",
        formatter_class=argparse.RawDescriptionHelpFormatter)
    worker.add_argument("--connect", type=_addresses, required=True, metavar="HOST:PORT[,HOST:PORT…]",
                        help="the scheduler's address (what it printed after 'listening on'); with several "
                             "schedulers on one crawl, theirs too: a lost one is replaced by the next")
    _add_key(worker)
    _add_worker_options(worker)
    worker.add_argument("--output", type=_folder, metavar="DIR",
                        help="where the shared output is mounted on this machine (default: the scheduler's path)")
    worker.add_argument("--node-id", default="", help="name in logs and the manifest (default: HOST-PID)")
    worker.add_argument("--reconnect-seconds", type=_seconds, default=WorkerConfig.reconnect_seconds, metavar="TIME",
                        help="keep trying an unreachable scheduler this long "
                             f"(default: {seconds_option(WorkerConfig.reconnect_seconds)})")
    _add_logging(worker)

    run = commands.add_parser(
        "run", help="scheduler and worker processes on this machine, in one command",
        description="Crawl on this machine: a scheduler plus --workers local crawler nodes, one command.",
        epilog="examples:\n"
               "  crawler run https://example.com/ --output output\n"
               "  crawler run seeds/example.txt --max-pages 200 --delay 1s --workers 4 --threads 8\n"
               "  crawler run https://example.com/ --config crawl.toml --resume\n\n" + EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_crawl_options(run, output_default="output")
    run.add_argument("--workers", type=_positive(int), default=LocalNodes.workers, metavar="N",
                     help="worker processes (default: %(default)s)")
    run.add_argument("--listen", type=_address, default=("127.0.0.1", 0), metavar="HOST:PORT",
                     help="address to serve nodes on, so nodes on other machines can join (default: "
                          "127.0.0.1 and a free port)")
    _add_key(run)
    _add_worker_options(run)

    demo = commands.add_parser("demo", help="serve the demo site in seeds/demo-site and crawl it",
                               description="Serve seeds/demo-site on 127.0.0.1, crawl it into --output and write "
                                           "the gallery. Offline; a few seconds.")
    demo.add_argument("-o", "--output", type=_folder, default=Path("output"), help="default: %(default)s")
    demo.add_argument("--site", type=Path, default=DEMO_SITE, help="default: %(default)s")
    demo.add_argument("--workers", type=_positive(int), default=LocalNodes.workers, metavar="N",
                      help="worker processes (default: %(default)s)")
    _add_worker_options(demo)
    _add_logging(demo)

    keygen = commands.add_parser("keygen", help="write a new random authkey to a file readable only by you",
                                 description="Write 32 random bytes (as hex) to FILE, mode 600; copy it to every "
                                             "machine of the crawl.")
    keygen.add_argument("file", type=Path, help="where to write the key (refuses an existing file)")

    status = commands.add_parser("status", help="show a running crawl's progress, from any machine",
                                 description="Show a running crawl's live picture without disturbing it.")
    status.add_argument("address", metavar="HOST:PORT|OUTPUT",
                        help="the scheduler's address, or the output directory of a crawl on this machine")
    _add_key(status)
    status.add_argument("--json", action="store_true", help="print the status as JSON, for scripts")

    inspect = commands.add_parser("inspect", help="summarise a crawl's output and write its gallery (index.html)",
                                  description="Summarise an output directory (images by host, type and form, "
                                              "failures by reason, slowest hosts) and write its gallery.")
    inspect.add_argument("output", type=Path, help="a crawl's output directory")
    inspect.add_argument("--json", action="store_true", help="print the summary as JSON, for scripts")
    inspect.add_argument("--no-gallery", action="store_true", help="do not write index.html and thumbnails")
    inspect.add_argument("--search", metavar="WORDS",
                         help="list the images whose alt text, title, caption, file name or URL hold all these words")

    export = commands.add_parser("export", help="export the manifest, or the images under their own names",
                                 description="Write the manifest as CSV or JSON Lines, one row per saved image; "
                                             "or, with --layout names, the images as HOST/PATH/NAME (hard links to "
                                             "the stored files where possible, else copies).")
    export.add_argument("output", type=Path, help="a crawl's output directory")
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv", help="default: %(default)s")
    export.add_argument("--csv", action="store_const", const="csv", dest="format", help=argparse.SUPPRESS)
    export.add_argument("-f", "--file", type=Path, metavar="FILE",
                        help="write to FILE rather than standard output (- is standard output too)")
    export.add_argument("--layout", choices=("manifest", "names"), default="manifest",
                        help="manifest: the records (default); names: the image files under their sites' names")
    export.add_argument("--into", type=_folder, metavar="DIR",
                        help="with --layout names: the folder to fill (default: OUTPUT/by-name)")
    return parser


def _add_worker_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--threads", type=_positive(int), default=WorkerConfig.threads, metavar="N",
                        help="fetcher threads per worker process (default: %(default)s)")
    parser.add_argument("--processes", type=_positive(int), default=WorkerConfig.processes, metavar="N",
                        help="worker processes per node, so parsing uses every core (default: %(default)s)")


# -- config from arguments ---------------------------------------------------------------------

def _authkey(args: argparse.Namespace) -> bytes:
    if args.authkey_file is not None:
        return broker.read_authkey_file(args.authkey_file.expanduser())
    key = broker.authkey_from_env()
    if key is None:
        raise ConfigError(f"no authkey: pass --authkey-file FILE (make one with `crawler keygen FILE`) "
                          f"or set ${broker.AUTHKEY_ENV}")
    return key


def _folder_of(url: str) -> str:
    """A seed's folder as a canonical URL prefix: http://host/a/b.html → http://host/a/ (for --no-parent)."""
    key = canonical(url) or url
    return key.split("?", 1)[0].rsplit("/", 1)[0] + "/"


_SEED_PROBLEMS_SHOWN = 20


def scheduler_config(args: argparse.Namespace, authkey: bytes, listen: tuple[str, int]) -> SchedulerConfig:
    seeds = read_seeds(args.seeds)
    for problem in seeds.problems[:_SEED_PROBLEMS_SHOWN]:  # a screenful: a list exported wrong has thousands
        log.warning("seeds: %s (skipped)", problem)
    if len(seeds.problems) > _SEED_PROBLEMS_SHOWN:
        log.warning("seeds: %d more bad lines like these (skipped)", len(seeds.problems) - _SEED_PROBLEMS_SHOWN)
    if not seeds.urls and args.start in ("resume", "recrawl") and not seeds.problems:
        # Their hosts are the crawl's scope: carrying on without them dropped every link as out of scope.
        again = f"--{args.start}"
        raise SeedError(f"{again} carries on with the crawl's seeds and options: give them again (the same "
                        f"command plus {again}); without its seeds a crawl has no scope")
    if not seeds.urls:
        raise SeedError("no seed URLs to start from; give seed files or URLs" +
                        (f" ({plural(len(seeds.problems), 'bad line')} above)" if seeds.problems else ""))
    for option, patterns in (("--deny", args.deny), ("--accept", args.accept)):
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                glob = re.fullmatch(r"\*\.(\w+)", pattern)  # wget's --reject '*.gif' habit
                hint = f" (a glob? as a regular expression, '\\.{glob[1]}$')" if glob else ""
                raise ConfigError(f"{option} {pattern!r} is not a regular expression: {exc}{hint}") from exc
    request = RequestOptions(headers=tuple(parse_header(text) for text in args.header),
                             cookies=read_cookies(args.cookies) if args.cookies else (),
                             basic_auth=read_basic_auth(args.auth_file) if args.auth_file else (),
                             check_certificates=not args.no_check_certificate)
    return SchedulerConfig(
        output_dir=args.output, authkey=authkey, listen_host=listen[0], listen_port=listen[1],
        seeds=tuple(seeds.urls),
        scope=Scope(frozenset(map(host_of, {origin_of(u) for u in seeds.urls})), tuple(args.allow_domain),
                    tuple(args.deny), args.same_host_images, tuple(args.accept),
                    tuple(_folder_of(u) for u in seeds.urls) if args.no_parent else (),
                    read_sitemaps=not args.no_sitemaps, sitemaps_only=args.sitemaps_only),
        request=request,
        limits=Limits(args.max_depth, args.max_pages, args.max_images, args.max_time, args.max_bytes),
        politeness=Politeness(delay_seconds=args.delay, per_host=args.per_host,
                              obey_robots=not args.ignore_robots),
        fetch=FetchLimits(total_seconds=args.timeout, read_seconds=min(FetchLimits.read_seconds, args.timeout),
                          connect_seconds=min(FetchLimits.connect_seconds, args.timeout),
                          max_page_bytes=args.max_page_bytes, max_image_bytes=args.max_image_bytes,
                          user_agent=args.user_agent.strip(), min_bytes_per_second=args.min_speed,
                          min_speed_seconds=args.min_speed_time, honour_opt_outs=not args.ignore_robots),
        image_filter=ImageFilter(args.min_bytes, args.min_width, args.min_height, args.types, args.srcset),
        max_attempts=args.max_attempts, lease_seconds=args.lease_seconds,
        node_timeout_seconds=args.node_timeout, storage_pause_seconds=args.storage_pause,
        resume=args.start in ("resume", "recrawl"), fresh=args.start == "fresh", recrawl=args.start == "recrawl",
        recrawl_older_than_seconds=args.recrawl_older_than, recrawl_fresh=args.recrawl_fresh, prune=args.prune,
        state_url=args.state,
        crawl_name=args.crawl)


# -- commands -----------------------------------------------------------------------------------

def _print_summary(summary: Summary) -> int:
    from crawler.scheduler.loop import StopReason
    c = summary.counts
    headline = {StopReason.FINISHED: "Crawl finished", StopReason.LIMIT: f"Crawl finished ({summary.detail})",
                StopReason.INTERRUPTED: "Crawl stopped (interrupted)",
                StopReason.INTERRUPTED_TWICE: "Crawl stopped at once (interrupted twice)"}[summary.reason]
    pages = (plural(c.get("pages/fetched", 0), "page") + " fetched" + _unchanged(c, "pages")
             + _failed_and_skipped(c, "pages"))
    pages += _pages_listed(c, "sitemaps", "sitemap") + _pages_listed(c, "menus", "script menu")  # node.menus
    written_in = (f"; {c['images/inline']} of them written into the pages as data: URIs"
                  if c.get("images/inline") else "")
    images = (f"{plural(c.get('images/saved', 0), 'image')} saved ({size_text(c.get('bytes/saved', 0))}, "
              f"{plural(c.get('images/duplicate', 0), 'duplicate')} avoided{written_in})" + _unchanged(c, "images")
              + _failed_and_skipped(c, "images"))
    whole = ""
    if summary.earlier_images:  # a resumed crawl: this run's figures, then the whole crawl's
        total = summary.earlier_images + c.get("images/saved", 0)
        whole = (f" The whole crawl: {plural(total, 'image')} saved "
                 f"({size_text(summary.earlier_bytes + c.get('bytes/saved', 0))}).")
    print(f"{headline} in {duration_text(summary.seconds)}: {pages}; {images}"
          + (f"; {summary.pending} left for --resume" if summary.pending else "") + f".{whole}"
          f" Images: {summary.output_dir / 'images'}; manifest: {summary.output_dir / 'manifest.jsonl'}; "
          f"failures: {summary.output_dir / 'failures.jsonl'}. Gallery and summary: "
          f"crawler inspect {path_option(summary.output_dir)}", flush=True)
    recheck = recrawl_line(c)
    if recheck:
        print(recheck, flush=True)
    for problem in summary.seed_problems:  # the warnings that scrolled by, where a reader looks last
        print(f"The {problem}.", flush=True)
    withheld, tagged = c.get("images/opted-out", 0), opted_out_images(c)
    if withheld or tagged:
        print(f"Left out at the sites' request: {plural(withheld, 'image reference')} on pages that opt out "
              "(<meta name=robots> or X-Robots-Tag noimageindex/noai, or TDMRep's tdm-reservation), "
              f"{plural(tagged, 'image')} sent with X-Robots-Tag noai/noimageindex or tdm-reservation: 1 "
              "(--ignore-robots, on sites you own, keeps them).", flush=True)
    # Pictures a page links to but does not show (a directory listing's) are saved all the same
    saved_any = c.get("images/saved", 0) - c.get("images/favicon", 0) + c.get("images/duplicate", 0)
    if c.get("pages/fetched") and not c.get("images/referenced") and not withheld and not saved_any:
        print(f"No picture on the {plural(c['pages/fetched'], 'page')} fetched (a favicon aside): where a browser "
              "shows some, the site draws them with scripts, and this crawler runs none.", flush=True)
    if c.get("images/inline-not-saved"):
        print(f"{plural(c['images/inline-not-saved'], 'picture')} written into the pages as data: URIs "
              "not saved: filtered out (--min-bytes, --min-width, --min-height, --types), or not an image.",
              flush=True)
    disallowed = c.get("images/robots-disallowed", 0)
    if disallowed and summary.robots_disallowed_images:
        print(f"{plural(disallowed, 'image')} the pages show {'was' if disallowed == 1 else 'were'} left out at "
              "their sites' request: "
              f"{_disallowed_by(summary.robots_disallowed_images, disallowed)}; --ignore-robots fetches such "
              "images from a site of your own.", flush=True)
    cut = c.get("pages/truncated", 0)
    if cut:
        print(f"{plural(cut, 'page')} cut at --max-page-bytes ({size_text(summary.max_page_bytes)}): what came after "
              "was not read. A larger --max-page-bytes reads such pages whole (reports with their pictures written "
              "in run to tens of MB).", flush=True)
    too_large = c.get("images/too-large", 0)
    if too_large:
        print(f"{plural(too_large, 'image')} larger than --max-image-bytes {size_option(summary.max_image_bytes)} "
              f"{'was' if too_large == 1 else 'were'} not saved: a larger --max-image-bytes (like 100M) keeps such "
              "pictures (full-size photos and scans).", flush=True)
    traps = c.get("pages/traps", 0)
    if traps:
        print(f"{plural(traps, 'link')} left out as crawler traps: a path repeating a run of its folders three "
              f"times in a row or over {MAX_PATH_SEGMENTS} deep (as Heritrix rules them out), or a calendar's next "
              f"or previous page over {CALENDAR_YEARS} years (a day's: {CALENDAR_DAYS} days) from today; such as "
              f"{summary.trap_example}.", flush=True)
    kept_out = c.get("images/out-of-scope", 0)
    if kept_out and summary.out_of_scope_hosts:
        hosts = " ".join(f"--allow-domain {host}" for host in summary.out_of_scope_hosts)
        print(f"{kept_out} off-site image{'' if kept_out == 1 else 's'} skipped: add {hosts}"
              " (or leave out --same-host-images)", flush=True)
    if summary.max_pages_reached is not None:  # their links were not kept: a --resume has none to follow
        print(f"More pages were found than --max-pages {summary.max_pages_reached} admits; they were not crawled, "
              "and a --resume cannot reach them (their links were not kept): crawl again with --fresh and a "
              "larger --max-pages.", flush=True)
    if summary.max_depth_reached is not None:  # as for --max-pages: the deeper links were not kept
        print(f"Pages deeper than --max-depth {summary.max_depth_reached} were found; they were not crawled, and a "
              "--resume cannot reach them (their links were not kept): crawl again with --fresh and a larger "
              "--max-depth.", flush=True)
    if summary.nothing_to_resume:
        print("Nothing was left to crawl: the saved crawl had finished. --recrawl asks its sites for what changed "
              "since; --fresh starts over.", flush=True)
    if summary.idle_in_shared_crawl:
        print("This scheduler's nodes fetched nothing: the crawl's sites were the other schedulers' (each site goes "
              "through one scheduler, which keeps its --per-host and --delay; schedulers share a crawl of many "
              f"sites). What they fetched is in {summary.output_dir}: crawler inspect {summary.output_dir}",
              flush=True)
    denied = c.get("images/denied", 0)
    if denied:
        print(f"{plural(denied, 'image')} left out by --deny.", flush=True)
    return exit_code(summary)


def _disallowed_by(origins: list[tuple[str, int]], images: int) -> str:
    """ "http://a/robots.txt disallows 5 of them, http://b/robots.txt 2, others 1", or, for one
    origin that disallowed them all, "http://a/robots.txt disallows them" (or "it")."""
    if len(origins) == 1 and origins[0][1] == images:
        return f"{origins[0][0]}/robots.txt disallows {'it' if images == 1 else 'them'}"
    parts = [f"{origin}/robots.txt " + (f"disallows {count} of them" if i == 0 else str(count))
             for i, (origin, count) in enumerate(origins)]
    rest = images - sum(count for _origin, count in origins)
    return ", ".join(parts + ([f"others {rest}"] if rest > 0 else []))


def _unchanged(counts: dict[str, int], kind: str) -> str:
    """ " and 40 unchanged" for a re-crawl's pages or images that answered 304, or nothing."""
    return f" and {counts[f'{kind}/unchanged']} unchanged" if counts.get(f"{kind}/unchanged") else ""


def _pages_listed(counts: dict[str, int], kind: str, word: str) -> str:
    """ " (12 pages from 1 sitemap, 1 failed)" where lists of pages of this kind were read (or failed)."""
    if not (counts.get(f"{kind}/fetched") or counts.get(f"{kind}/failed")):
        return ""  # a guessed /sitemap.xml that is not there is no news
    return (f" ({plural(counts.get(f'{kind}/pages', 0), 'page')} from {plural(counts.get(f'{kind}/fetched', 0), word)}"
            f"{_failed_and_skipped(counts, kind).replace(' (', ', ').rstrip(')')})")


def _failed_and_skipped(counts: dict[str, int], kind: str) -> str:
    """ " (2 failed, 1 skipped, 1 partial)" for pages or images, or nothing when there were none."""
    parts = [f"{counts[f'{kind}/{outcome}']} {outcome}" for outcome in ("failed", "skipped", "partial")
             if counts.get(f"{kind}/{outcome}")]
    return f" ({', '.join(parts)})" if parts else ""


def exit_code(summary: Summary) -> int:
    """The exit status a script can trust (EXIT_CODES_HELP)."""
    counts = summary.counts
    if not summary.finished:
        return EXIT_INTERRUPTED
    # A re-crawl's unchanged URLs (304) were answered too, as was an image whose bytes were saved
    # before; and what a re-crawl left as still fresh needed no answer
    nothing = not any(n for key, n in counts.items()
                      if key in ("pages/fetched", "images/saved", "images/duplicate", "urls/still-fresh")
                      or key.endswith("/unchanged"))
    if nothing and any(n for key, n in counts.items() if key.endswith(("/failed", "/skipped"))):
        return EXIT_NOTHING_FETCHED
    if counts.get("pages/unreachable", 0):
        return EXIT_PAGES_UNREACHABLE
    return EXIT_OK


def cmd_scheduler(args: argparse.Namespace) -> int:
    authkey = _authkey(args)
    return _print_summary(run_scheduler(scheduler_config(args, authkey, args.listen), args.quiet,
                                        key_file=args.authkey_file))


def cmd_worker(args: argparse.Namespace) -> int:
    from crawler.node.worker import default_node_id
    check_environment()
    (host, port), *alternates = args.connect
    config = WorkerConfig(host=host, port=port, alternates=tuple(alternates), authkey=_authkey(args),
                          threads=args.threads, processes=args.processes, output_dir=args.output,
                          node_id=args.node_id or default_node_id(), reconnect_seconds=args.reconnect_seconds)
    return run_node(config, args.argv)


def cmd_run(args: argparse.Namespace) -> int:
    nodes = LocalNodes(args.workers, args.threads, args.processes)  # refuses 0 threads before anything starts
    check_environment()  # the demo needs no such check: its requests go to its own server directly
    given = args.authkey_file is not None or broker.authkey_from_env() is not None
    config = scheduler_config(args, _authkey(args) if given else broker.generate_authkey(), args.listen)
    workers = LocalWorkers(nodes, config.authkey, quiet=args.quiet, verbose=args.verbose)
    return _print_summary(run_local_crawl(config, workers, quiet=args.quiet,
                                          key_file=args.authkey_file if given else None, generated_key=not given))


def cmd_demo(args: argparse.Namespace) -> int:
    """Serve the demo site and crawl it as `crawler run URL --fresh --delay 0 --per-host 8` would."""
    from crawler.demo import DEMO_HOST, serve_folder
    # The demo's server is on this machine: a proxy the environment names elsewhere cannot reach it.
    # Its workers, forked below, take the environment as it is then.
    os.environ["no_proxy"] = ",".join(filter(None, (os.environ.get("no_proxy") or os.environ.get("NO_PROXY"),
                                                     DEMO_HOST)))
    nodes = LocalNodes(args.workers, args.threads, args.processes)
    authkey = broker.generate_authkey()
    workers = LocalWorkers(nodes, authkey, quiet=args.quiet, verbose=args.verbose)  # before the server's thread
    try:
        server, url = serve_folder(args.site)
    except BaseException:
        workers.close()
        raise
    print(f"demo: serving {args.site} at {url}", flush=True)
    config = SchedulerConfig(output_dir=args.output, authkey=authkey, seeds=(url,),
                             scope=Scope(frozenset({host_of(url)})),
                             politeness=Politeness(delay_seconds=0, per_host=8), fresh=True)
    try:
        code = _print_summary(run_local_crawl(config, workers, quiet=args.quiet))
    finally:
        server.shutdown()
    if code == EXIT_OK:
        from crawler.output.gallery import write_gallery
        print(f"demo: gallery written to {write_gallery(args.output)}; open it in a browser", flush=True)
    return code


def cmd_keygen(args: argparse.Namespace) -> int:
    broker.write_authkey_file(args.file.expanduser())
    print(f"wrote a new authkey to {args.file} (mode 600); copy it to every crawler node the same way")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    output = Path(args.address)
    if output.is_dir():  # a crawl on this machine: its address and (for `crawler run`) its key are noted there
        host, port = broker.read_contact(output / STATE_DIR)
        key_path = output / STATE_DIR / broker.KEY_NAME
        if args.authkey_file is None and broker.authkey_from_env() is None and key_path.is_file():
            args.authkey_file = key_path
    else:
        try:
            host, port = _address(args.address)
        except argparse.ArgumentTypeError as exc:
            raise ConfigError(f"{args.address!r} is neither HOST:PORT nor an output directory") from exc
    status = broker.connect(host, port, _authkey(args)).bulletin.read().get("status")
    if status is None:
        raise CrawlerError(f"the scheduler at {host_port(host, port)} has no status yet; try again in a second")
    if args.json:
        print(json.dumps(status, indent=1, sort_keys=True))
    else:
        from rich.console import Console

        from crawler.output.display import render_status
        Console().print(render_status(status))
    return EXIT_OK


def _require_output(path: Path) -> None:
    if not (path / MANIFEST_NAME).is_file():
        raise ConfigError(f"{path} holds no crawl output (no manifest.jsonl)")


def cmd_inspect(args: argparse.Namespace) -> int:
    from crawler.output.report import render_matches, render_text, search, summarize
    _require_output(args.output)
    if args.search is not None:
        matches = search(args.output, args.search)
        print(json.dumps(matches, ensure_ascii=False, indent=1) if args.json else render_matches(matches))
        return EXIT_OK
    summary = summarize(args.output)
    unwritten = None  # why the gallery could not be written (a read-only disk): said after the summary
    if not args.no_gallery:
        from crawler.output.gallery import write_gallery
        try:
            summary["gallery"] = str(write_gallery(args.output))
        except StorageError as exc:  # a thumbnail's file (the reason says which)
            unwritten = f"cannot write the gallery: {exc} (--no-gallery leaves it out)"
        except OSError as exc:  # the page itself
            unwritten = f"cannot write the gallery in {args.output}: {exc.strerror or exc} (--no-gallery leaves it out)"
    if args.json:
        print(json.dumps(summary, indent=1, sort_keys=True))
    else:
        print(render_text(summary))
        if "gallery" in summary:
            print(f"gallery: {summary['gallery']} (open it in a browser; it needs no server)")
    if unwritten is not None:
        print(f"crawler inspect: error: {unwritten}", file=sys.stderr, flush=True)
        return EXIT_ERROR
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from crawler.output.report import manifest_csv
    _require_output(args.output)
    if args.layout == "names":
        from crawler.output.export import export_by_name
        into = args.into or args.output / "by-name"
        done = export_by_name(args.output, into)
        print(f"exported {plural(done.linked + done.copied, 'image')} into {into} ({done.linked} hard links, "
              f"{done.copied} copies, {done.renamed} renamed for a name taken, {done.present} there already"
              + (f"; {done.missing} missing from the output" if done.missing else "") + ")")
        return EXIT_OK
    if args.format == "csv":
        text = manifest_csv(args.output)
    else:  # the records as the crawl wrote them, torn lines (a crash mid-write) left out
        text = "".join(json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
                       for record in read_jsonl(args.output / MANIFEST_NAME, is_manifest_record))
    if args.file is None or str(args.file) == urllog.STANDARD_OUTPUT:
        sys.stdout.write(text)
        return EXIT_OK
    if is_the_crawls_own(args.output, args.file):  # `-f out/manifest.jsonl` wrote the CSV over the manifest
        raise ConfigError(f"{args.file} is one of the crawl's own files; write the export elsewhere")
    try:
        args.file.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise StorageError(f"cannot write {args.file}: {exc.strerror or exc}") from exc
    return EXIT_OK


_COMMANDS = {"scheduler": cmd_scheduler, "worker": cmd_worker, "run": cmd_run, "demo": cmd_demo,
             "keygen": cmd_keygen, "status": cmd_status, "inspect": cmd_inspect, "export": cmd_export}


def _setup_logging(args: argparse.Namespace) -> None:
    level = logging.WARNING if getattr(args, "quiet", False) else (
        logging.DEBUG if getattr(args, "verbose", False) else logging.INFO)
    if sys.stderr.isatty():  # on a terminal, rich keeps log lines above a live display
        from rich.logging import RichHandler
        handler: logging.Handler = RichHandler(console=terminal(), show_path=False)
        handler.setFormatter(logging.Formatter("%(message)s", datefmt="%H:%M:%S"))
    else:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(message)s", datefmt="%H:%M:%S"))
    logging.basicConfig(level=level, handlers=[handler])
    # -v means our lines, not theirs. urllib3 warns, with a traceback, of each answer whose headers
    # it could not all parse: what a site sends goes in the URL's record, not on the terminal.
    for noisy, least in (("urllib3", logging.ERROR), ("PIL", logging.WARNING), ("charset_normalizer", logging.WARNING)):
        logging.getLogger(noisy).setLevel(least)
    if level == logging.DEBUG:
        urllog.show_on(handler)
    if getattr(args, "log_file", None) is not None:
        # into the state's database (--log-file out/.crawler/state.sqlite) its lines were appended,
        # and into the manifest they were lost to the rewrite at the run's end
        if is_the_crawls_own(args.output, args.log_file):
            raise ConfigError(f"--log-file {args.log_file} is one of the crawl's own files; write the log elsewhere")
        urllog.write_to(args.log_file)


def parse_command_line(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse `argv`; with --config FILE, the file's options first and the command line's over them."""
    args, unknown = parser.parse_known_args(argv)
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    if unknown:
        command_name = getattr(args, "command", None)
        _refuse_unknown(commands, command_name, unknown)
        # said by the command's parser: its usage lists the options it does take
        (commands.choices[command_name] if command_name else parser).error(
            f"unrecognized arguments: {' '.join(unknown)}")
    if getattr(args, "config", None) is None:
        return args
    command = commands.choices[args.command]
    from_file = _config_file_defaults(command, args.config)
    for group in command._mutually_exclusive_groups:  # -q | -v, --no-sitemaps | --sitemaps-only
        if any(getattr(args, action.dest) != action.default for action in group._group_actions):
            for action in group._group_actions:  # one of them given on the command line: the file's give way
                from_file.pop(action.dest, None)
    command.set_defaults(**from_file)
    return parser.parse_args(argv)


def _refuse_unknown(commands: argparse._SubParsersAction, command: str | None, unknown: list[str]) -> None:
    """A node given one of the crawl's options (--delay, --no-check-certificate…) is told where it goes:
    nodes take every such setting from their scheduler."""
    if command != "worker":
        return
    scheduler_options = {name for action in commands.choices["scheduler"]._actions for name in action.option_strings}
    names = (word.split("=", 1)[0] for word in unknown)  # --delay=1 names --delay
    misplaced = next((name for name in names if name in scheduler_options), None)
    if misplaced is not None:
        commands.choices["worker"].error(f"{misplaced} is the crawl's to set, on its scheduler (crawler scheduler "
                                         "or crawler run): every node takes it from there")


def _config_file_defaults(command: argparse.ArgumentParser, path: Path) -> dict[str, Any]:
    """The options in a TOML crawl file, converted as the command line converts them."""
    try:
        data = tomllib.loads(read_bounded(path, "config file", SETTINGS_FILE_BYTES).decode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:  # an editor's Latin-1 or Windows-1252: TOML is UTF-8
        raise ConfigError(f"config file {path} is not UTF-8 text (byte {exc.start + 1}); save it as UTF-8") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path} is not TOML: {exc}") from exc
    actions = {name: action for action in command._actions if action.dest not in ("help", "config")
               for name in _long_names(action)}
    defaults: dict[str, Any] = {}
    said_by: dict[str, str] = {}  # the key that set each option (resume, fresh and recrawl set one)
    for key, value in data.items():
        action = actions.get(key.replace("_", "-"))
        if action is None:
            close = difflib.get_close_matches(key.replace("_", "-"), actions, n=1)
            raise ConfigError(f"{path}: unknown option {key!r}{f' (did you mean {close[0]}?)' if close else ''}; "
                              f"options are the long command-line names: {', '.join(sorted(actions))}")
        try:
            converted = _convert(action, value)
        except (argparse.ArgumentTypeError, TypeError, ValueError) as exc:
            raise ConfigError(f"{path}: {key} = {value!r}: {exc}") from exc
        if action.dest in said_by and converted != defaults[action.dest]:  # fresh and resume; an alias
            if converted is None:  # fresh = false beside resume = true: no choice, nothing to undo
                continue
            if defaults[action.dest] is not None:
                raise ConfigError(f"{path}: {said_by[action.dest]} and {key} contradict each other; keep one")
        defaults[action.dest], said_by[action.dest] = converted, key
    return defaults


def _long_names(action: argparse.Action) -> list[str]:
    """An option's names in a crawl file: its long options without the dashes (a positional's, its own)."""
    if not action.option_strings:
        return [action.dest.replace("_", "-")]
    return [name[2:] for name in action.option_strings if name.startswith("--")]


def _convert(action: argparse.Action, value: Any) -> Any:
    """A TOML value as the option would hold it after parsing its command-line text."""
    if action.nargs == 0:  # a flag: true gives what the option stores (--fresh: "fresh"), false nothing
        if not isinstance(value, bool):
            raise TypeError("expected true or false")
        return action.const if value else action.default
    many = isinstance(action, argparse._AppendAction) or action.nargs in ("*", "+")
    if action.type is _types and isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = ",".join(value)  # types = ["jpeg", "png"]: a list in TOML, a comma list on the command line
    values = value if isinstance(value, list) else [value]
    if not many and isinstance(value, list):
        raise TypeError("expected one value, not a list")
    converted = []
    for item in values:
        if isinstance(item, (dict, list)):
            raise TypeError("expected a string or a number")
        if action.type in (_seconds, _size) and isinstance(item, (int, float)):
            item = _number_as(action.type, item)
        elif action.type is not None:
            item = action.type(str(item))  # type: ignore[operator]  # typeshed: a str names a registered type
        elif isinstance(item, bool):  # a text option (user-agent = true was sent as "True")
            raise TypeError("expected text, not true or false")
        else:
            item = str(item)  # user-agent = 5 or crawl = 2024, as the command line reads them
        if action.choices is not None and item not in action.choices:
            raise ValueError(f"choose from {', '.join(map(str, action.choices))}")
        converted.append(item)
    return converted if many else converted[0]


def _number_as(kind: Callable[[str], Any], number: float) -> float | int:
    """A crawl file's number for a time or size option (`delay = 1.5`), held to the command line's rules."""
    if isinstance(number, bool):  # TOML's true is no number of seconds
        raise TypeError(f"expected a {'time' if kind is _seconds else 'size'}, not true or false")
    if kind is _seconds:
        return checked_seconds(float(number), repr(number))
    return checked_size(number, repr(number))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    try:
        args = parse_command_line(parser, argv)
    except ConfigError as exc:  # a crawl file's mistake: named with its command, as argparse names it
        command = next((word for word in argv if not word.startswith("-")), None)
        named = f"crawler {command}" if command in _COMMANDS else "crawler"
        print(f"{named}: error: {exc}", file=sys.stderr, flush=True)
        return EXIT_USAGE
    if args.command is None:  # a bare `crawler`: what it can do
        parser.print_help()
        return EXIT_USAGE
    args.argv = argv  # a worker with --processes N starts its siblings with the same words
    try:
        _setup_logging(args)
        return _COMMANDS[args.command](args)
    except CrawlerError as exc:
        print(f"crawler {args.command}: error: {exc}", file=sys.stderr, flush=True)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print(f"crawler {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
