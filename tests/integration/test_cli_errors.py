"""Each user mistake gives one readable line and a non-zero exit, never a traceback."""

from __future__ import annotations

import signal
import socket
from pathlib import Path

import pytest

from crawler import broker
from tests.integration.conftest import finish


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def assert_one_error_line(stderr: str, command: str, text: str) -> None:
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith(f"crawler {command}: error:")]
    assert len(errors) == 1 and text in errors[0], stderr


def test_cli_worker_without_a_scheduler(processes) -> None:
    port = free_port()
    result = processes.run("worker", "--connect", f"127.0.0.1:{port}", "--reconnect-seconds", "0.5")
    assert result.returncode == 1
    assert_one_error_line(result.stderr, "worker", f"no scheduler at 127.0.0.1:{port}")


def test_cli_worker_with_the_wrong_authkey(tmp_path: Path, serve_site, processes) -> None:
    site = serve_site(Path(__file__).resolve().parents[2] / "seeds" / "demo-site")
    scheduler, port = processes.start_scheduler(site.url, "--output", str(tmp_path / "out"))
    result = processes.run("worker", "--connect", f"127.0.0.1:{port}", key=broker.generate_authkey())
    assert result.returncode == 1
    # the key may come from either place: the line names both
    assert_one_error_line(result.stderr, "worker", "rejected our authkey: a node needs the scheduler's key "
                                                   "(--authkey-file FILE, or $CRAWLER_AUTHKEY)")
    scheduler.terminate()
    _code, _out, scheduler_err = finish(scheduler, timeout=30)
    assert "wrong authkey" in scheduler_err


def test_cli_unwritable_output(tmp_path: Path, processes) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    result = processes.run("scheduler", "http://127.0.0.1:9/", "--output", str(blocker / "out"),
                           "--listen", "127.0.0.1:0")
    assert result.returncode == 1
    assert_one_error_line(result.stderr, "scheduler", f"cannot write {blocker / 'out'}")


def test_cli_scheduler_needs_an_authkey(tmp_path: Path, processes) -> None:
    env_without_key = processes.env()
    env_without_key.pop(broker.AUTHKEY_ENV)
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "crawler", "scheduler", "http://127.0.0.1:9/",
                             "--output", str(tmp_path)], env=env_without_key, capture_output=True, text=True,
                            cwd=Path(__file__).resolve().parents[2], timeout=30)
    assert result.returncode == 1
    assert_one_error_line(result.stderr, "scheduler", "no authkey")


def test_cli_bad_seed_lines_are_reported_and_an_empty_list_refused(tmp_path: Path, processes) -> None:
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("# nothing usable\nnot a url\nftp://x/\n")
    result = processes.run("scheduler", str(seeds), "--output", str(tmp_path / "out"), "--listen", "127.0.0.1:0")
    assert result.returncode == 1
    assert f"{seeds}:2: not an http(s) URL" in result.stderr and f"{seeds}:3:" in result.stderr
    assert_one_error_line(result.stderr, "scheduler", "no seed URLs")


def test_cli_existing_state_needs_resume_or_fresh(tmp_path: Path, processes) -> None:
    first = processes.run("demo", "--output", str(tmp_path / "out"), "--quiet")
    assert first.returncode == 0, first.stderr
    again = processes.run("run", "http://127.0.0.1:9/", "--output", str(tmp_path / "out"))
    assert again.returncode == 1
    # a weekly run of the same command is told of the re-crawl too, not only of starting over
    assert_one_error_line(again.stderr, "run", "add --resume to carry on, --recrawl to fetch only what changed "
                                               "since, or --fresh to start over")


@pytest.mark.slow
def test_cli_scheduler_without_nodes_says_how_to_start_one(tmp_path: Path, processes) -> None:
    key_file = tmp_path / "key"
    broker.write_authkey_file(key_file)
    scheduler, port = processes.start_scheduler("http://127.0.0.1:9/", "--output", str(tmp_path / "out"),
                                                "--authkey-file", str(key_file))
    assert scheduler.stderr is not None
    hint = ""
    for line in scheduler.stderr:  # the hint comes about 5 s after the start
        if "no crawler node has joined yet" in line:
            hint = line
            break
    scheduler.send_signal(signal.SIGINT)
    code, stdout, _stderr = finish(scheduler)
    assert f"start one with: crawler worker --connect 127.0.0.1:{port} --authkey-file {key_file}" in hint
    assert code == 130 and "Crawl stopped (interrupted)" in stdout


def test_cli_nonsense_values_are_one_line_and_nothing_starts(tmp_path: Path, processes) -> None:
    for option, value, words in [("--threads", "0", "--threads must be at least 1"),
                                 ("--per-host", "0", "--per-host must be at least 1"),
                                 ("--max-pages", "0", "--max-pages must be more than 0"),
                                 ("--workers", "0", "--workers must be at least 1")]:
        result = processes.run("run", "http://127.0.0.1:9/", "--output", str(tmp_path / "out"), option, value)
        assert result.returncode == 1
        assert_one_error_line(result.stderr, "run", words)
    assert not (tmp_path / "out").exists()
    resumed = processes.run("run", "http://127.0.0.1:9/", "--output", str(tmp_path / "none"), "--resume")
    assert resumed.returncode == 1
    assert_one_error_line(resumed.stderr, "run", "holds no saved crawl to resume")
