"""Settings that cannot work are refused with a sentence naming the option, never silently changed."""

import re
from collections.abc import Callable

import pytest

from crawler.config import (
    MAX_PROCESSES,
    MAX_THREADS,
    FetchLimits,
    Limits,
    Politeness,
    RequestOptions,
    SchedulerConfig,
    Scope,
    WorkerConfig,
)
from crawler.errors import ConfigError
from crawler.supervise import LocalNodes
from crawler.units import duration_text, parse_seconds, parse_size, plural, seconds_option, size_option, size_text


@pytest.mark.parametrize("make, option", [
    (lambda: Politeness(per_host=0), "--per-host"),
    (lambda: Politeness(delay_seconds=-1), "--delay"),
    (lambda: FetchLimits(total_seconds=0), "--timeout"),
    (lambda: FetchLimits(max_image_bytes=0), "--max-image-bytes"),
    (lambda: Limits(max_pages=0), "--max-pages"),
    (lambda: Limits(max_seconds=0), "--max-time"),
    (lambda: SchedulerConfig(output_dir=".", authkey=b"k", max_attempts=0), "--max-attempts"),  # type: ignore[arg-type]
    (lambda: SchedulerConfig(output_dir=".", authkey=b"k", lease_seconds=0), "--lease-seconds"),  # type: ignore[arg-type]
    (lambda: WorkerConfig("h", 1, b"k", threads=0), "--threads"),
    (lambda: WorkerConfig("h", 1, b"k", threads=MAX_THREADS + 1), "--threads"),  # 20,000 took the machine's threads
    (lambda: WorkerConfig("h", 1, b"k", processes=0), "--processes"),
    (lambda: WorkerConfig("h", 1, b"k", node_id="evil\nINFO forged"), "--node-id"),  # a line of the log of its own
    (lambda: WorkerConfig("h", 1, b"k", node_id="x" * 65), "--node-id"),
    # `crawler run --workers 100000` forked until it was killed, saying nothing
    (lambda: WorkerConfig("h", 1, b"k", processes=MAX_PROCESSES + 1), "--processes"),
    (lambda: LocalNodes(workers=MAX_PROCESSES + 1), "--workers"),
    (lambda: LocalNodes(workers=MAX_PROCESSES // 2 + 1, processes=2), "--workers"),
    (lambda: SchedulerConfig(output_dir=".", authkey=b"k", prune=True), "--prune"),  # type: ignore[arg-type]
    (lambda: SchedulerConfig(output_dir=".", authkey=b"k", recrawl=True, fresh=True), "--recrawl"),  # type: ignore[arg-type]
    (lambda: SchedulerConfig(output_dir=".", authkey=b"k", state_url="redis://h/0"), "--crawl"),  # type: ignore[arg-type]
    (lambda: SchedulerConfig(output_dir=".", authkey=b"k", state_url="h:6379", crawl_name="c"), "--state"),  # type: ignore[arg-type]
    (lambda: Scope(read_sitemaps=False, sitemaps_only=True), "--sitemaps-only"),
])
def test_config_nonsense_values_are_refused_with_the_option_named(make, option: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=option):
        make()


def test_config_zero_depth_and_zero_delay_are_meaningful() -> None:
    assert WorkerConfig("h", 1, b"k", threads=MAX_THREADS).threads == MAX_THREADS
    assert LocalNodes(workers=MAX_PROCESSES // 2, processes=2).workers == MAX_PROCESSES // 2
    assert Limits(max_depth=0).max_depth == 0  # the seeds only
    assert Politeness(delay_seconds=0).delay_seconds == 0  # a site you own


def test_config_certificates_go_unchecked_only_when_the_scheduler_says_so_plainly() -> None:
    # The nodes learn --no-check-certificate from the bulletin: nothing but a plain False turns checks off.
    assert RequestOptions.from_dict(RequestOptions(check_certificates=False).to_dict()).check_certificates is False
    for sent in ({}, {"check_certificates": True}, {"check_certificates": 0}, {"check_certificates": "no"}):
        assert RequestOptions.from_dict(sent).check_certificates is True


@pytest.mark.parametrize("text, count", [("5M", 5_000_000), ("20MiB", 20 * 2**20), ("512k", 512_000),
                                         ("1.5GB", 1_500_000_000), ("1000", 1000), (" 2 KiB ", 2048)])
def test_units_sizes_take_units(text: str, count: int) -> None:
    assert parse_size(text) == count


@pytest.mark.parametrize("text, seconds", [("1.5s", 1.5), ("500ms", 0.5), ("2m", 120), ("1h", 3600), ("30", 30),
                                           ("1m30s", 90), ("1h30m", 5400), ("2d12h", 216_000)])  # as Go, systemd
def test_units_times_take_units(text: str, seconds: float) -> None:
    assert parse_seconds(text) == seconds


@pytest.mark.parametrize("bad", ["5X", "", "1.2.3", "M", "1m30", "1x30s", "m30s", "--1", "-"])
def test_units_nonsense_is_a_sentence(bad: str) -> None:
    with pytest.raises(ValueError, match="is not a"):
        parse_size(bad)
    with pytest.raises(ValueError, match="is not a"):
        parse_seconds(bad)


@pytest.mark.parametrize(("parse", "bad"), [(parse_size, "-1"), (parse_size, " -5M "), (parse_seconds, "-1"),
                                            (parse_seconds, "-0.5s"), (parse_seconds, "-1m30s")])
def test_units_a_negative_size_or_time_is_said_to_be_one(parse: Callable[[str], float], bad: str) -> None:
    # `--delay -1` said "'-1' is not a time", as for a typo; --max-pages -3 says "must not be negative"
    with pytest.raises(ValueError, match=re.escape(f"must not be negative: {bad!r}")):
        parse(bad)


@pytest.mark.parametrize("text", ["100000000000000000000", "3651d", "87601h"])
def test_units_a_time_past_ten_years_is_refused(text: str) -> None:
    # `--timeout 100000000000000000000` was taken, and each node's deadline thread died of an
    # OverflowError (a thread waits at most ~292 years); no option has a use for ten years
    with pytest.raises(ValueError, match=re.escape(f"{text!r} is longer than 3650d (ten years)")):
        parse_seconds(text)
    assert parse_seconds("3650d") == 3650 * 86400


def test_config_fetch_limits_from_the_wire_are_bounded() -> None:
    # a node rebuilds its fetch limits from the scheduler's message: a time no thread can wait
    # is refused there too, and NaN with it
    sent = FetchLimits().to_dict()
    for bad in (1e23, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="--timeout"):
            FetchLimits.from_dict({**sent, "total_seconds": bad})
        with pytest.raises(ConfigError, match="--min-speed-time"):
            FetchLimits.from_dict({**sent, "min_speed_seconds": bad})
        with pytest.raises(ConfigError, match="connect and read timeouts"):
            FetchLimits.from_dict({**sent, "read_seconds": bad})


@pytest.mark.parametrize("agent", ["", "   "])
def test_config_an_empty_user_agent_is_refused(agent: str) -> None:
    # `--user-agent "$UA"` with UA unset sent every request with an empty User-Agent (which many
    # sites refuse), and robots.txt groups for the crawler's own name no longer applied
    with pytest.raises(ConfigError, match=re.escape("--user-agent is empty (an unset shell variable?)")):
        FetchLimits(user_agent=agent)


@pytest.mark.parametrize("agent, words", [
    ("a\nb", "--user-agent cannot hold a line break"),
    ("crawler ☃", "--user-agent cannot hold '☃': a header goes as Latin-1 text"),
    (" crawler", "--user-agent cannot begin with a space"),
])
def test_config_a_user_agent_http_cannot_send_is_refused(agent: str, words: str) -> None:
    # each was taken, and every request of the crawl failed, said as bad-url; a node checks what
    # its scheduler sends too, and the headers of --header with it
    with pytest.raises(ConfigError, match=re.escape(words)):
        FetchLimits(user_agent=agent)
    with pytest.raises(ConfigError, match=re.escape(words.replace("--user-agent", "--header X-A: a value"))):
        RequestOptions.from_dict({"headers": [["X-A", agent]]})
    assert FetchLimits(user_agent="crawler/1 (café)").user_agent == "crawler/1 (café)"


def test_units_words_for_people() -> None:
    assert [size_text(n) for n in (512, 3_300, 33_000, 4_200_000, 1_250_000_000)] == [
        "512 B", "3.3 kB", "33 kB", "4.2 MB", "1.25 GB"]
    assert [plural(1, "image"), plural(2, "image"), plural(0, "node")] == ["1 image", "2 images", "0 nodes"]
    assert (size_option(5 * 2**20), seconds_option(60.0), seconds_option(0.5)) == ("5MiB", "1m", "0.5s")
    assert [parse_seconds(seconds_option(seconds)) for seconds in (7 * 86400.0, 36 * 3600.0)] == [7 * 86400, 36 * 3600]
    assert seconds_option(7 * 86400.0) == "7d"  # as --recrawl-older-than is typed, not 168h
    # a crawl of one page said "Crawl finished in 0.0 s"
    assert [duration_text(seconds) for seconds in (12.34, 1.0, 0.042)] == ["12.3 s", "1.0 s", "0.04 s"]
    # and one of a night "Crawl finished in 7385.2 s"
    assert [duration_text(seconds) for seconds in (59.96, 245.4, 7385.2, 90061.0)] == [
        "60.0 s", "4 min 5 s", "2 h 3 min", "25 h 1 min"]


def test_config_a_cookie_goes_in_clear_only_when_the_scheduler_says_so_plainly() -> None:
    # The nodes learn the cookies from the bulletin, each with its secure flag (it was dropped, and
    # a browser's secure session cookie went over plain http too): only a plain False sends one in clear.
    options = RequestOptions(cookies=(("a.test", "/", "s", "1", True), ("a.test", "/", "l", "en", False)))
    assert RequestOptions.from_dict(options.to_dict()).cookies == options.cookies
    for flag in (0, "no", None):
        sent = {"cookies": [["a.test", "/", "s", "1", flag]]}
        assert RequestOptions.from_dict(sent).cookies == (("a.test", "/", "s", "1", True),)
