"""The command line a person reads: help everywhere, and what a bare `crawler` shows."""

import argparse
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.cli import build_parser, main
from tests.endless_input import outcome_of_reading_endless
from tests.loaded_modules import REPO, modules_after


def test_cli_every_command_and_option_has_help() -> None:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in commands.choices.items():
        assert command.description, f"crawler {name} has no description"
        for action in command._actions:
            assert action.help, f"crawler {name} {action.option_strings or action.dest} has no help"
    for name in ("run", "scheduler", "worker"):
        assert "example" in (commands.choices[name].epilog or ""), f"crawler {name} --help shows no example"


def test_cli_bare_crawler_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    shown = capsys.readouterr().out
    for name in ("scheduler", "worker", "run", "demo", "keygen", "status", "inspect", "export"):
        assert f"    {name}" in shown


def test_cli_config_file_holds_options_and_the_command_line_overrides(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from crawler.cli import parse_command_line
    config = tmp_path / "crawl.toml"
    config.write_text('seeds = ["https://example.com/"]\noutput = "out"\ndelay = "1.5s"\nmax-pages = 20\n'
                      'max_image_bytes = "2M"\ntimeout = 30\nheader = ["Accept-Language: en"]\n'
                      "same-host-images = true\nallow-domain = [\"https://cdn.example.com/\"]\ninsecure = true\n")
    args = parse_command_line(build_parser(), ["run", "--config", str(config), "--max-pages", "5"])
    assert args.seeds == ["https://example.com/"] and str(args.output) == "out"
    assert (args.delay, args.max_pages, args.max_image_bytes, args.timeout) == (1.5, 5, 2_000_000, 30)
    assert args.header == ["Accept-Language: en"] and args.same_host_images is True
    assert args.allow_domain == ["cdn.example.com"]  # converted as on the command line
    assert args.no_check_certificate is True  # an option's other long name (--insecure) is a key too


def test_cli_config_file_number_for_a_text_option_is_its_text(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # `user-agent = 5` stayed a number: every request failed (requests takes only text in a header)
    from crawler.cli import parse_command_line, scheduler_config
    config = tmp_path / "crawl.toml"
    config.write_text('seeds = ["https://example.com/"]\nuser-agent = 5\n')
    args = parse_command_line(build_parser(), ["run", "--config", str(config)])
    assert scheduler_config(args, b"k" * 32, ("127.0.0.1", 0)).fetch.user_agent == "5"


@pytest.mark.parametrize("crawl_file, command_line, starts", [
    # A crawl file's fresh = true beside the command line's --resume started over (the saved crawl
    # discarded), where the command line is to override the file.
    ("fresh = true", ["--resume"], "resume"),
    # "The same command with --resume", after a crawl begun with --fresh, was refused by argparse.
    ("", ["--fresh", "--resume"], "resume"),
    ("", ["--resume", "--recrawl"], "recrawl"),
    ("recrawl = true\nfresh = false", [], "recrawl"),
    ("resume = false", ["--fresh"], "fresh"),
])
def test_cli_the_last_word_on_how_to_start_wins(tmp_path, crawl_file: str, command_line: list[str],  # type: ignore[no-untyped-def]
                                               starts: str) -> None:
    from crawler.cli import parse_command_line, scheduler_config
    config = tmp_path / "crawl.toml"
    config.write_text(f'seeds = ["https://example.com/"]\n{crawl_file}\n')
    args = parse_command_line(build_parser(), ["run", "--config", str(config), *command_line])
    settings = scheduler_config(args, b"k" * 32, ("127.0.0.1", 0))
    assert (settings.resume, settings.fresh, settings.recrawl) == \
        (starts in ("resume", "recrawl"), starts == "fresh", starts == "recrawl")


@pytest.mark.parametrize("crawl_file, command_line, chosen", [
    # The file's sitemaps-only = true beside the command line's --no-sitemaps: "contradict each other".
    ("sitemaps-only = true", ["--no-sitemaps"], {"no_sitemaps": True, "sitemaps_only": False}),
    ("verbose = true", ["-q"], {"quiet": True, "verbose": False}),
    ("verbose = true", [], {"quiet": False, "verbose": True}),
])
def test_cli_an_option_of_a_pair_on_the_command_line_overrides_the_files_other(  # type: ignore[no-untyped-def]
        tmp_path, crawl_file: str, command_line: list[str], chosen: dict[str, bool]) -> None:
    from crawler.cli import parse_command_line
    config = tmp_path / "crawl.toml"
    config.write_text(f'seeds = ["https://example.com/"]\n{crawl_file}\n')
    args = parse_command_line(build_parser(), ["run", "--config", str(config), *command_line])
    assert {name: getattr(args, name) for name in chosen} == chosen


@pytest.mark.parametrize("text, words", [
    ("bogus = 1", "unknown option 'bogus'; options are"),
    ("max-page = 3", "unknown option 'max-page' (did you mean max-pages?)"),  # a typo: named, not only listed
    ("user_agnet = 'x'", "unknown option 'user_agnet' (did you mean user-agent?)"),
    ('delay = "fast"', "is not a time"),
    ("same-host-images = 1", "expected true or false"),
    ('max-pages = [1, 2]', "expected one value"),
    ("max-pages = ", "is not TOML"),
    ("fresh = true\nresume = true", "fresh and resume contradict each other; keep one"),
    ("insecure = true\nno-check-certificate = false", "insecure and no-check-certificate contradict each other"),
    ('output = ""', "empty (an unset shell variable?)"),
    # A crawl file's numbers meet the command line's rules: -1 was taken (exit 1, other words), inf
    # and a time past a thread's longest wait were taken (a crawl that never ends, a node's deadline
    # thread dead of an OverflowError), nan was called negative, and true was a second.
    ("delay = -1", "delay = -1: must not be negative: '-1'"),
    ("delay = inf", "delay = inf: 'inf' is not a time"),
    ("delay = nan", "delay = nan: 'nan' is not a time"),
    ("timeout = 1e23", "'1e+23' is longer than 3650d (ten years), the longest time an option takes"),
    ("max-bytes = inf", "max-bytes = inf: 'inf' is not a size"),
    ("max-bytes = -5", "max-bytes = -5: must not be negative: '-5'"),
    ("delay = true", "delay = True: expected a time, not true or false"),
    ("user-agent = true", "user-agent = True: expected text, not true or false"),  # was sent as "True"
])
def test_cli_config_file_mistakes_are_one_line(tmp_path, capsys: pytest.CaptureFixture[str], text: str,  # type: ignore[no-untyped-def]
                                               words: str) -> None:
    config = tmp_path / "crawl.toml"
    config.write_text(text + "\n")
    assert main(["run", "--config", str(config)]) == 2
    error = capsys.readouterr().err
    assert words in error and error.count("\n") == 1
    assert error.startswith("crawler run: error: "), error  # the command, as argparse's own errors name it


@pytest.mark.parametrize(("content", "words"), [
    # an editor's Latin-1: a traceback (UnicodeDecodeError) where every other mistake is one line
    (b'user-agent = "caf\xe9"\n', "is not UTF-8 text (byte 18); save it as UTF-8"),
    # `--config /dev/zero` (a pipe that never ends here): read until the memory was gone
    (None, "is larger than 1MiB: no such file is; was another file given?"),
])
def test_cli_config_file_that_is_no_crawl_file_is_one_line(tmp_path, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
                                                            content: bytes | None, words: str) -> None:
    def run(config: Path) -> int:
        return main(["run", "--config", str(config)])

    if content is None:
        code = outcome_of_reading_endless(tmp_path, run)
    else:
        config = tmp_path / "crawl.toml"
        config.write_bytes(content)
        code = run(config)
    error = capsys.readouterr().err
    assert code == 2 and words in error and error.count("\n") == 1, error


@pytest.mark.parametrize("command", [["run", "http://127.0.0.1:9/"], ["worker", "--connect", "127.0.0.1:9"]])
def test_cli_a_proxy_that_is_no_url_is_refused_before_the_crawl(tmp_path, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                                                capsys: pytest.CaptureFixture[str],
                                                                command: list[str]) -> None:
    # http_proxy=http://[::1 (a typo): the crawl ran, every request failed, and each site was
    # blamed ("its site's robots.txt could not be read: bad-url"), exit 4
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("http_proxy", "http://[::1")
    monkeypatch.setenv("CRAWLER_AUTHKEY", "k" * 32)
    assert main([*command, "--output", str(tmp_path / "out")]) == 1
    error = capsys.readouterr().err
    assert error.endswith("$http_proxy is 'http://[::1', which is no proxy URL (like http://proxy.example:3128): "
                          "every request would fail\n") and error.count("\n") == 1, error
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("bundle", "words"), [
    ("/nonexistent/ca.pem", "which cannot be read (No such file or directory)"),  # was "internal-error: OSError"
    ("hosts.txt", "which holds no PEM certificate"),  # was "the TLS handshake … failed (ssl-error)"
])
def test_cli_a_ca_bundle_that_is_none_is_refused_before_the_crawl(tmp_path, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                                                 capsys: pytest.CaptureFixture[str], bundle: str,
                                                                 words: str) -> None:
    # every https request of the crawl failed with it, each said as the site's fault, exit 4
    if not bundle.startswith("/"):  # a file of something else
        bundle = str(tmp_path / bundle)
        Path(bundle).write_text("127.0.0.1 localhost\n")
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", bundle)
    monkeypatch.setenv("CRAWLER_AUTHKEY", "k" * 32)
    assert main(["run", "https://127.0.0.1:9/", "--output", str(tmp_path / "out")]) == 1
    error = capsys.readouterr().err
    assert f"$REQUESTS_CA_BUNDLE names {bundle}, {words}" in error and error.count("\n") == 1, error
    assert error.endswith(": every https request would fail\n")


def _modules_after_a_node(then: str, prefixes: tuple[str, ...]) -> list[str]:
    """The modules named `prefixes` that a process holds after running `crawler worker` (its scheduler
    is not there: it stops at once) and then the Python statement `then`."""
    # What `python -m crawler worker …` runs (crawler.console), short of its exit.
    worker = ("from crawler.cli import main\n"
              "main(['worker', '--connect', '127.0.0.1:9', '--reconnect-seconds', '0'])\n")
    modules, stderr = modules_after(worker + then, prefixes, env={"CRAWLER_AUTHKEY": "k" * 32})
    assert "no scheduler at 127.0.0.1:9" in stderr, stderr
    return modules


def test_cli_a_node_loads_neither_the_scheduler_nor_redis() -> None:
    # Each module a process loads is start-up time before its first request (the scheduler and the
    # Redis client were 0.1 s of a node's 0.3 s), and a crawl on SQLite has no use for Redis at all.
    assert _modules_after_a_node("pass", ("redis.", "crawler.scheduler.")) == []
    assert _modules_after_a_node("import crawler.scheduler.sqlite_store, crawler.scheduler.loop", ("redis.",)) == []


def test_cli_commands_leave_out_the_character_set_detector_requests_would_import() -> None:
    # requests imports charset_normalizer (or chardet) for Response.text on a body that names no
    # charset, which the crawl never reads: 25-36 ms of every command's start, a crawl's included.
    node = subprocess.run([sys.executable, "-X", "importtime", "-m", "crawler", "worker", "--connect", "127.0.0.1:9",
                           "--reconnect-seconds", "0"], capture_output=True, text=True, timeout=60, cwd=REPO,
                          env=dict(os.environ, CRAWLER_AUTHKEY="k" * 32))
    assert "no scheduler at 127.0.0.1:9" in node.stderr, node.stderr
    imported = {line.rpartition("|")[2].strip() for line in node.stderr.splitlines() if line.startswith("import time:")}
    assert {"requests", "urllib3", "crawler.node.fetcher"} <= imported  # the node's transport, all there
    # (-X importtime lists a refused import too, at a few microseconds: its modules are what cost)
    assert not {name for name in imported if name.startswith(("charset_normalizer.", "chardet."))}
    assert "Warning" not in node.stderr  # requests' RequestsDependencyWarning for the missing detector


def test_cli_exit_status_counts_a_recrawls_unchanged_urls_as_answered() -> None:
    # A weekly re-crawl of a site that did not change: every known URL answered 304, a broken link
    # failed again. That is a success, not "nothing could be fetched" (exit 4).
    from crawler.cli import EXIT_NOTHING_FETCHED, EXIT_OK, exit_code
    from crawler.scheduler.loop import StopReason, Summary
    unchanged = {"pages/unchanged": 3, "images/unchanged": 5, "pages/failed": 1, "images/failed": 1}
    assert exit_code(Summary(StopReason.FINISHED, "", 1.0, unchanged)) == EXIT_OK
    all_still_fresh = {"urls/still-fresh": 8, "pages/failed": 1}  # nothing needed asking but a broken link
    assert exit_code(Summary(StopReason.FINISHED, "", 1.0, all_still_fresh)) == EXIT_OK
    duplicates_only = {"images/duplicate": 2, "images/failed": 1}  # e.g. the rest of a resumed crawl
    assert exit_code(Summary(StopReason.FINISHED, "", 1.0, duplicates_only)) == EXIT_OK
    every_seed_failed = {"pages/failed": 2, "robots/failed": 1}
    assert exit_code(Summary(StopReason.FINISHED, "", 1.0, every_seed_failed)) == EXIT_NOTHING_FETCHED


def test_cli_closing_lines_name_the_robots_txt_that_kept_shown_images_out(capsys) -> None:
    # The pictures of a site are often on a host of their own whose robots.txt disallows crawlers:
    # the crawl said "0 images saved (6 skipped)" and no more.
    from crawler.cli import _print_summary
    from crawler.scheduler.loop import StopReason, Summary
    counts = {"pages/fetched": 2, "images/referenced": 9, "images/skipped": 9, "images/robots-disallowed": 9}
    _print_summary(Summary(StopReason.FINISHED, "", 1.0, counts, robots_disallowed_images=[("https://cdn.a", 9)]))
    assert ("9 images the pages show were left out at their sites' request: https://cdn.a/robots.txt disallows them;"
            " --ignore-robots fetches such images from a site of your own.") in capsys.readouterr().out
    several = [("https://cdn.a", 5), ("https://b", 2), ("https://c", 1)]
    _print_summary(Summary(StopReason.FINISHED, "", 1.0, {**counts, "images/robots-disallowed": 10},
                           robots_disallowed_images=several))
    assert ("10 images the pages show were left out at their sites' request: https://cdn.a/robots.txt disallows 5 of "
            "them, https://b/robots.txt 2, https://c/robots.txt 1, others 2;") in capsys.readouterr().out
    _print_summary(Summary(StopReason.FINISHED, "", 1.0, {"pages/fetched": 2, "images/saved": 1}))
    assert "robots.txt" not in capsys.readouterr().out


def test_cli_closing_lines_say_no_picture_was_shown_only_when_none_was_saved(capsys) -> None:
    # An open directory (Apache's or nginx's listing) links its pictures and shows none: 60 were
    # saved, and the closing lines said the site drew its pictures with scripts
    from crawler.cli import _print_summary
    from crawler.scheduler.loop import StopReason, Summary
    _print_summary(Summary(StopReason.FINISHED, "", 1.0, {"pages/fetched": 21, "images/saved": 60}))
    assert "No picture on the" not in capsys.readouterr().out
    _print_summary(Summary(StopReason.FINISHED, "", 1.0, {"pages/fetched": 21, "images/saved": 1, "images/favicon": 1}))
    assert "No picture on the 21 pages fetched (a favicon aside)" in capsys.readouterr().out


def test_cli_closing_lines_count_the_images_a_tdmrep_reservation_kept_out(capsys) -> None:
    from crawler.cli import _print_summary
    from crawler.scheduler.loop import StopReason, Summary
    counts = {"pages/fetched": 2, "images/referenced": 9, "images/opted-out": 3, "images/x-robots-tag": 1,
              "images/tdm-reservation": 2}
    _print_summary(Summary(StopReason.FINISHED, "", 1.0, counts))
    assert ("Left out at the sites' request: 3 image references on pages that opt out (<meta name=robots> or "
            "X-Robots-Tag noimageindex/noai, or TDMRep's tdm-reservation), 3 images sent with X-Robots-Tag "
            "noai/noimageindex or tdm-reservation: 1 (--ignore-robots, on sites you own, keeps them).") \
        in capsys.readouterr().out


@pytest.mark.parametrize(("counts", "said"), [
    ({"menus/fetched": 3, "menus/pages": 40}, "5 pages fetched (40 pages from 3 script menus);"),
    ({"menus/fetched": 2, "menus/pages": 40, "menus/failed": 1},
     "5 pages fetched (40 pages from 2 script menus, 1 failed);"),
    ({"menus/failed": 1}, "5 pages fetched (0 pages from 0 script menus, 1 failed);"),  # said, not left out
    ({"sitemaps/fetched": 1, "sitemaps/pages": 2, "menus/fetched": 1, "menus/pages": 3},
     "5 pages fetched (2 pages from 1 sitemap) (3 pages from 1 script menu);"),
    ({"sitemaps/skipped": 1}, "5 pages fetched;"),  # the usual /sitemap.xml, not there: no news
])
def test_cli_closing_lines_say_where_pages_came_from_and_what_failed_there(capsys, counts: dict[str, int],
                                                                            said: str) -> None:
    from crawler.cli import _print_summary
    from crawler.scheduler.loop import StopReason, Summary
    _print_summary(Summary(StopReason.FINISHED, "", 1.0, {"pages/fetched": 5, **counts}))
    assert said in capsys.readouterr().out


@pytest.mark.parametrize("command", [["run", "https://example.com/", "-o"], ["demo", "-o"],
                                     ["worker", "--connect", "127.0.0.1:1", "--output"],
                                     ["export", "out", "--layout", "names", "--into"]])
def test_cli_an_empty_output_folder_is_refused(capsys, tmp_path, monkeypatch,  # type: ignore[no-untyped-def]
                                               command: list[str]) -> None:
    # -o "$OUT" with OUT unset crawled into the current folder, its files among the user's.
    monkeypatch.chdir(tmp_path)  # where they would go
    with pytest.raises(SystemExit) as stopped:
        main([*command, ""])
    assert stopped.value.code == 2
    said = capsys.readouterr().err.splitlines()[-1]
    assert command[-1] in said and said.endswith(": empty (an unset shell variable?); name a folder, . for this one")
    assert list(tmp_path.iterdir()) == []


def test_cli_closing_lines_say_that_max_pages_left_pages_out(capsys) -> None:  # type: ignore[no-untyped-def]
    from crawler.cli import _print_summary
    from crawler.scheduler.loop import StopReason, Summary
    _print_summary(Summary(StopReason.FINISHED, "", 1.0, {"pages/fetched": 2}, max_pages_reached=2))
    said = ("More pages were found than --max-pages 2 admits; they were not crawled, and a --resume cannot reach "
            "them (their links were not kept): crawl again with --fresh and a larger --max-pages.")
    assert said in capsys.readouterr().out
    _print_summary(Summary(StopReason.FINISHED, "", 1.0, {"pages/fetched": 2}))
    assert "--max-pages" not in capsys.readouterr().out


def test_cli_the_command_leaves_with_mains_code_its_output_and_the_exit_handlers_run() -> None:
    # crawler.console skips the interpreter's teardown of its modules (30 ms at every exit); what
    # main() printed, and what a library's exit handler does, must still happen.
    snippet = ("import atexit, crawler.cli\n"
               "def main():\n"
               "    atexit.register(lambda: print(' and a library handler ran'))\n"
               "    print('printed, not flushed', end='')\n"
               "    return 3\n"
               "crawler.cli.main = main\n"
               "from crawler.console import run\n"
               "run()\n")
    done = subprocess.run([sys.executable, "-c", snippet], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert (done.returncode, done.stdout) == (3, "printed, not flushed and a library handler ran\n"), done.stderr
    bare = subprocess.run([sys.executable, "-m", "crawler"], capture_output=True, text=True, timeout=60, cwd=REPO)
    assert bare.returncode == 2 and "usage: crawler" in bare.stdout  # the help, then EXIT_USAGE


@pytest.mark.parametrize(("words", "code", "said"), [
    (["--help"], 0, "usage: crawler"),
    (["run", "--help"], 0, "usage: crawler run"),
    (["run", "https://example.com/", "--no-such-option"], 2, "unrecognized arguments: --no-such-option"),
    # the command's own usage, with the options it does take (it showed `crawler [-h] COMMAND ...`)
    (["export", "out", "--to", "by-name"], 2, "crawler export: error: unrecognized arguments: --to by-name"),
    (["export", "out", "--to", "by-name"], 2, "[--layout {manifest,names}] [--into DIR]"),
    (["run", "https://example.com/", "--delay", "soon"], 2, "--delay"),
    # a node given one of the crawl's options is told where it goes (it was "unrecognized arguments")
    (["worker", "--connect", "127.0.0.1:1", "--no-check-certificate"], 2,
     "--no-check-certificate is the crawl's to set, on its scheduler (crawler scheduler or crawler run)"),
    (["worker", "--connect", "127.0.0.1:1", "--delay=1"], 2, "--delay is the crawl's to set"),
])
def test_cli_help_and_usage_errors_leave_with_their_codes(words: list[str], code: int, said: str) -> None:
    # argparse leaves through SystemExit, which the exit without teardown turned into 1: `crawler
    # --help` failed, and a mistyped option was not the documented 2.
    done = subprocess.run([sys.executable, "-m", "crawler", *words], capture_output=True, text=True, timeout=60,
                          cwd=REPO)
    assert done.returncode == code and said in done.stdout + done.stderr, (done.returncode, done.stderr[-300:])


@pytest.mark.parametrize(("text", "said"), [
    ("", "no type; choose from jpeg,png,"),  # it said "unknown image types []"
    (" , ", "no type; choose from"),
    ("png,foo", "unknown image type foo; choose from"),
    ("bitmap,JPG,raw", "unknown image types bitmap, raw; choose from"),
])
def test_cli_types_says_what_is_wrong_with_the_list(text: str, said: str) -> None:
    from crawler.cli import _types
    with pytest.raises(argparse.ArgumentTypeError) as caught:
        _types(text)
    assert str(caught.value).startswith(said)


def test_cli_types_takes_extensions_and_media_types_too() -> None:
    # `--types jpg` was taken and `--types tif` refused; a user who writes .png or image/png was too
    from crawler.cli import _types
    assert _types("JPG, .tif,image/png,svgz,image/svg+xml,heif,image/x-icon") == (
        "jpeg", "tiff", "png", "svg", "svg", "heic", "ico")


def test_cli_min_width_and_height_take_px() -> None:
    # the help names them PX, and --min-width 200px was "not a number"
    args = build_parser().parse_args(["run", "https://example.com/", "--min-width", "200px", "--min-height", "90 PX"])
    assert (args.min_width, args.min_height) == (200, 90)


@pytest.mark.parametrize(("option", "text", "said"), [
    ("--max-pages", "1.5", "argument --max-pages: not a whole number: '1.5'"),  # it said "not a number"
    ("--min-width", "20em", "argument --min-width: not a whole number: '20em'"),
    ("--max-pages", "-3", "argument --max-pages: must not be negative: '-3'"),
])
def test_cli_counts_say_what_is_wrong(capsys, option: str, text: str, said: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["run", "https://example.com/", option, text])
    assert said in capsys.readouterr().err


def test_cli_an_address_copied_as_a_url_says_to_leave_out_the_scheme(capsys) -> None:  # type: ignore[no-untyped-def]
    # --connect http://host:8765 asked the DNS for a host named "http://host" and said so
    with pytest.raises(SystemExit):
        build_parser().parse_args(["worker", "--connect", "http://127.0.0.1:8765"])
    assert "a scheduler is no web server, leave out the scheme" in capsys.readouterr().err


def test_cli_an_ipv6_address_is_given_in_brackets(capsys: pytest.CaptureFixture[str]) -> None:
    # "::1:50000" is also the IPv6 address ::1:50000 with no port: written as URLs write it, in brackets
    from crawler.cli import _address, _addresses
    assert _address("[::1]:50000") == ("::1", 50000)
    assert _addresses("[fd00::1]:50000,box:50001") == [("fd00::1", 50000), ("box", 50001)]
    with pytest.raises(SystemExit):
        build_parser().parse_args(["worker", "--connect", "::1:50000"])
    assert "an IPv6 address goes in brackets: [::1]:50000" in capsys.readouterr().err


@pytest.mark.parametrize("words", [["run", "http://a.test/", "--listen", "127.0.0.1:²"],
                                   ["worker", "--connect", "127.0.0.1:²"], ["status", "127.0.0.1:²"]])
def test_cli_a_port_is_ascii_digits(capsys: pytest.CaptureFixture[str], words: list[str]) -> None:
    # "²" passes str.isdigit and int() refuses it: `crawler status 127.0.0.1:²` stopped with a
    # ValueError traceback, --listen and --connect said "invalid _address value"
    if words[0] == "status":
        assert main(words) == 1
    else:
        with pytest.raises(SystemExit):  # argparse's own exit, 2
            main(words)
    error = capsys.readouterr().err
    assert "127.0.0.1:²" in error and ("expected HOST:PORT" in error or "neither HOST:PORT" in error), error


def test_cli_config_file_types_may_be_a_list(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # types = ["jpg", "png"], as header and allow-domain are written, was "expected one value, not a list"
    from crawler.cli import parse_command_line
    config = tmp_path / "crawl.toml"
    config.write_text('seeds = ["https://example.com/"]\ntypes = ["jpg", "png"]\n')
    assert parse_command_line(build_parser(), ["run", "--config", str(config)]).types == ("jpeg", "png")


@pytest.mark.parametrize("where", ["missing-folder/file", "a-folder"])
@pytest.mark.parametrize("words", [
    ["export", "{output}", "-f", "{where}"],
    ["run", "http://127.0.0.1:1/", "--output", "{output}", "--log-file", "{where}"],  # before any crawl starts
])
def test_cli_a_file_that_cannot_be_written_is_one_line_naming_it(tmp_path, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
                                                                where: str, words: list[str]) -> None:
    # both were a FileNotFoundError or IsADirectoryError traceback
    (tmp_path / "a-folder").mkdir()
    output = tmp_path / "out"
    output.mkdir()
    (output / "manifest.jsonl").write_text("")
    target = str(tmp_path / where)
    code = main([word.format(output=output, where=target) for word in words])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and f"cannot write {target}: " in err, err


@pytest.mark.parametrize("blocked", ["index.html.tmp", "thumbnails"])
def test_cli_inspect_of_an_output_it_cannot_write_gives_the_summary_and_says_so(
        tmp_path, capsys: pytest.CaptureFixture[str], blocked: str) -> None:  # type: ignore[no-untyped-def]
    # A crawl on a read-only disk, or another user's: the summary was lost to a traceback (the
    # gallery's page) or to an error line (a thumbnail). Here a folder where the page goes first,
    # or a file where the thumbnails' folder goes, cannot be written, as root too.
    from PIL import Image
    output = tmp_path / "out"
    (output / "images" / "h").mkdir(parents=True)
    picture = io.BytesIO()
    Image.new("RGB", (4, 4)).save(picture, "PNG")
    (output / "images" / "h" / f"{'ab' * 32}.png").write_bytes(picture.getvalue())
    record = {"url": "http://h/p.png", "path": f"images/h/{'ab' * 32}.png", "sha256": "ab" * 32, "bytes": 10,
              "content_type": "image/png"}
    (output / "manifest.jsonl").write_text(json.dumps(record) + "\n")
    if blocked == "thumbnails":
        (output / blocked).write_text("")
    else:
        (output / blocked).mkdir()
    code = main(["inspect", str(output)])
    captured = capsys.readouterr()
    assert code == 1 and "1 image" in captured.out
    assert captured.err.count("\n") == 1
    assert "cannot write the gallery" in captured.err and "(--no-gallery leaves it out)" in captured.err


def test_cli_log_file_dash_is_standard_output(tmp_path, monkeypatch: pytest.MonkeyPatch,  # type: ignore[no-untyped-def]
                                             capsys: pytest.CaptureFixture[str]) -> None:
    # `--log-file -` wrote a file named "-"; a dash is standard output, as for curl -o - and wget -O -
    import logging

    from crawler import urllog
    monkeypatch.chdir(tmp_path)
    main(["run", "http://127.0.0.1:9/", "-o", str(tmp_path / "out"), "-q", "--log-file", "-", "--max-attempts", "1"])
    handlers = list(urllog.log.handlers)
    for handler in handlers:
        urllog.log.removeHandler(handler)
        if isinstance(handler, logging.FileHandler):
            handler.close()
    assert not (tmp_path / "-").exists()
    assert '"url": "http://127.0.0.1:9/robots.txt"' in capsys.readouterr().out


@pytest.mark.parametrize("own", ["manifest.jsonl", ".crawler/state.sqlite", "images/log.jsonl"])
def test_cli_log_file_of_the_crawls_own_is_refused(tmp_path, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
                                                   own: str) -> None:
    # `--log-file out/.crawler/state.sqlite` appended the log's lines to the crawl's database, and a
    # log written to out/manifest.jsonl was lost when the run rewrote the manifest
    output = tmp_path / "out"
    code = main(["run", "http://127.0.0.1:9/", "-o", str(output), "-q", "--log-file", str(output / own)])
    assert code == 1
    assert f"--log-file {output / own} is one of the crawl's own files" in capsys.readouterr().err


def test_cli_output_whose_reader_left_ends_quietly(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # `crawler inspect out --search cat | head -1`: once head has its line, the rest of the output
    # met a closed pipe, and Python printed a BrokenPipeError traceback.
    output = tmp_path / "out"
    output.mkdir()
    records = ({"url": f"http://h/{n}.png", "path": f"images/h/{n:064x}.png", "sha256": f"{n:064x}",
                "alt": "a cat " + "x" * 100} for n in range(3000))
    (output / "manifest.jsonl").write_text("".join(json.dumps(record) + "\n" for record in records))
    reading = subprocess.Popen([sys.executable, "-m", "crawler", "inspect", str(output), "--search", "cat"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=REPO)
    assert reading.stdout is not None and reading.stderr is not None
    assert reading.stdout.readline() == b"3000 images found\n"
    reading.stdout.close()  # as head does
    code = reading.wait(timeout=60)
    stderr = reading.stderr.read().decode()
    assert code == 1 and "Traceback" not in stderr and "BrokenPipeError" not in stderr, stderr


def test_cli_words_a_terminal_cannot_show_are_escaped_not_a_traceback(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # A page's words in a locale or terminal without them (PYTHONIOENCODING=ascii, a Latin-1
    # locale): `crawler inspect out --search 写真` ended in a UnicodeEncodeError traceback
    output = tmp_path / "out"
    output.mkdir()
    record = {"url": "http://h/p.png", "path": f"images/h/{'ab' * 32}.png", "sha256": "ab" * 32, "bytes": 10,
              "alt": "Ünïcode 写真 ☃"}
    (output / "manifest.jsonl").write_text(json.dumps(record) + "\n")
    shown = subprocess.run([sys.executable, "-m", "crawler", "inspect", str(output), "--search", "写真"],
                           capture_output=True, cwd=REPO, timeout=60, env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert shown.returncode == 0 and b"Traceback" not in shown.stderr, shown.stderr
    assert b"\\xdcn\\xefcode \\u5199\\u771f \\u2603" in shown.stdout, shown.stdout


@pytest.mark.parametrize("again", ["--resume", "--recrawl"])
def test_cli_carrying_on_without_the_seeds_is_refused_not_narrowed(tmp_path, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
                                                                  again: str) -> None:
    # The seeds set the crawl's scope (their hosts): `crawler run --output out --resume` carried on
    # with none, fetched the URLs left pending, and dropped every link they led to as out of scope,
    # then said "Crawl finished" (4 pages of a chain of 20, then 1 more). --recrawl said "no seed URLs".
    code = main(["run", "--output", str(tmp_path / "out"), again])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert (f"{again} carries on with the crawl's seeds and options: give them again "
            f"(the same command plus {again})") in err


def test_cli_a_seed_list_of_many_bad_lines_is_a_screenful_not_a_flood(tmp_path, capsys: pytest.CaptureFixture[str],  # type: ignore[no-untyped-def]
                                                                      caplog: pytest.LogCaptureFixture) -> None:
    # A warning for every bad line: tens of thousands for a list exported wrong
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("".join(f"not a url {n}\n" for n in range(500)))
    with caplog.at_level("WARNING"):
        code = main(["run", str(seeds), "--output", str(tmp_path / "out")])
    said = [record.getMessage() for record in caplog.records if record.getMessage().startswith("seeds:")]
    assert code == 1 and len(said) == 21
    assert said[-1] == "seeds: 480 more bad lines like these (skipped)"
    assert "(500 bad lines above)" in capsys.readouterr().err


def test_cli_commands_it_suggests_can_be_pasted_whatever_the_output_folder(tmp_path, capsys) -> None:  # type: ignore[no-untyped-def]
    # With --output "my crawl" the closing line said "crawler inspect my crawl" and the scheduler
    # "crawler worker --connect … --authkey-file my crawl/.crawler/authkey": pasted, two words.
    import shlex
    from types import SimpleNamespace

    from crawler import broker, supervise
    from crawler.cli import _print_summary
    from crawler.config import SchedulerConfig
    from crawler.scheduler.loop import StopReason, Summary
    output = tmp_path / "my crawl"
    _print_summary(Summary(StopReason.FINISHED, "", 1.0, {"pages/fetched": 1, "images/saved": 1}, 0, output))
    assert shlex.split(capsys.readouterr().out.split("Gallery and summary: ")[1].splitlines()[0]) == [
        "crawler", "inspect", str(output)]
    (output / ".crawler").mkdir(parents=True)
    scheduler = SimpleNamespace(join_command="")
    config = SchedulerConfig(output_dir=output, authkey=b"k" * 32, seeds=("http://a.test/",))
    supervise._note_contact(scheduler, config, "127.0.0.1", 8972, None, True)  # type: ignore[arg-type]
    assert shlex.split(scheduler.join_command)[-2:] == ["--authkey-file", str(output / ".crawler" / broker.KEY_NAME)]
    assert shlex.split(capsys.readouterr().out.split("another terminal: ")[1])[-1] == str(output)


@pytest.mark.parametrize(("pattern", "said"), [
    ("*.gif", "--deny '*.gif' is not a regular expression: nothing to repeat at position 0 (a glob? as a regular "
              "expression, '\\.gif$')"),  # what wget's --reject takes: the way to write it is named
    ("([", "--deny '([' is not a regular expression: unterminated character set at position 1\n"),
])
def test_cli_a_pattern_that_is_no_regular_expression_is_one_line(tmp_path, capsys, pattern: str,  # type: ignore[no-untyped-def]
                                                                  said: str) -> None:
    assert main(["run", "https://example.com/", "--output", str(tmp_path / "out"), "--deny", pattern]) == 1
    error = capsys.readouterr().err
    assert said in error and error.count("\n") == 1
