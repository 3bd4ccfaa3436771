"""Logs: JSON lines, and never a secret or a street address in them."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import structlog

from worker.logging import REDACTED, configure_logging, get_logger


def test_json_lines_carry_the_event_and_redact_secrets_and_addresses(
    capsys: pytest.CaptureFixture[str],
) -> None:
    configure_logging(log_format="json", level="INFO")
    get_logger("test").info(
        "order_pushed",
        reference="#1001",
        api_key="k-123",
        webhook_secret="s-456",
        Authorization="Basic abc",
        deliveryaddress="Koppeling 15",
        emailaddress="bob@example.com",
    )
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])

    assert line["event"] == "order_pushed"
    assert line["reference"] == "#1001"
    for key in ("api_key", "webhook_secret", "Authorization", "deliveryaddress", "emailaddress"):
        assert line[key] == REDACTED
    assert "k-123" not in json.dumps(line)


def test_the_level_filters_and_context_is_merged(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(log_format="json", level="WARNING")
    structlog.contextvars.bind_contextvars(source="shop-nl")
    try:
        get_logger().info("quiet")
        get_logger().warning("loud")
    finally:
        structlog.contextvars.clear_contextvars()
    lines = [json.loads(raw) for raw in capsys.readouterr().err.strip().splitlines()]
    assert [line["event"] for line in lines] == ["loud"]
    assert lines[0]["source"] == "shop-nl"


# a process of the concurrency test: 8 threads, each 2,000 lines, half structlog and half through the
# standard library (as dramatiq's and uvicorn's loggers write), long enough to be cut by a naive writer;
# half the threads hold their lines in groups (LineWriter.batched), written in pieces of whole lines
WRITER_PROCESS = """
import contextlib, logging, sys, threading
from worker.logging import WRITER, configure_logging, get_logger

configure_logging(log_format="json", level="INFO")
name = sys.argv[1]
padding = "x" * 300

def write(thread):
    log = get_logger("test")
    library = logging.getLogger("dramatiq.worker.ConsumerThread(picqer-sync)")
    for group in range(80):
        # half the threads write their lines in groups of 25, as the inbox writer does
        with WRITER.batched() if thread % 2 else contextlib.nullcontext():
            for number in range(group * 25, group * 25 + 25):
                if number % 2:
                    log.info("picqer_event", process=name, thread=thread, number=number, padding=padding)
                else:
                    library.warning("Consumer encountered a connection error: %s %s", number, padding)

threads = [threading.Thread(target=write, args=(index,)) for index in range(8)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
"""
LINES_PER_PROCESS = 8 * 2000


def _writers(stderr: int) -> list[subprocess.Popen[bytes]]:
    return [
        subprocess.Popen(
            [sys.executable, "-c", WRITER_PROCESS, name],
            stderr=stderr,
            stdout=subprocess.DEVNULL,
            cwd=Path(__file__).parents[2],
        )
        for name in ("a", "b")
    ]


def _assert_whole_json_lines(data: bytes) -> None:
    lines = data.decode().split("\n")
    assert lines[-1] == ""  # the stream ends with a newline
    lines = lines[:-1]
    assert len(lines) == 2 * LINES_PER_PROCESS
    assert all(line.strip() for line in lines), "an empty line"
    parsed = [json.loads(line) for line in lines]  # raises on a merged or cut line
    assert sum(1 for line in parsed if line["event"] == "picqer_event") == LINES_PER_PROCESS
    assert sum(1 for line in parsed if line.get("logger", "").startswith("dramatiq.")) == LINES_PER_PROCESS


def test_threads_and_processes_sharing_a_file_write_whole_json_lines(tmp_path: Path) -> None:
    path = tmp_path / "shared.log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        processes = _writers(fd)
        assert [process.wait(timeout=120) for process in processes] == [0, 0]
    finally:
        os.close(fd)
    _assert_whole_json_lines(path.read_bytes())


def test_threads_and_processes_sharing_a_pipe_write_whole_json_lines() -> None:
    read_end, write_end = os.pipe()
    processes = _writers(write_end)
    os.close(write_end)  # the children hold it; the pipe ends when both are done
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    assert [process.wait(timeout=120) for process in processes] == [0, 0]
    _assert_whole_json_lines(data)


def test_library_records_are_json_lines_with_our_redaction(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(log_format="json", level="INFO")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("uvicorn.error").exception("two\nlines")
    logging.getLogger("httpx").warning("request", extra={"authorization": "Basic abc"})

    lines = capsys.readouterr().err.splitlines()
    first, second = (json.loads(line) for line in lines)
    assert (first["logger"], first["event"], first["level"]) == ("uvicorn.error", "two | lines", "error")
    assert "RuntimeError: boom" in first["exception"]
    assert (second["logger"], second["authorization"]) == ("httpx", REDACTED)
    assert "Basic abc" not in "\n".join(lines)


def test_a_library_that_set_up_its_own_logging_first_still_writes_through_ours(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import logging.config

    from uvicorn.config import LOGGING_CONFIG

    logging.config.dictConfig(LOGGING_CONFIG)  # what uvicorn.run does with its default log_config
    configure_logging(log_format="json", level="INFO")
    logging.getLogger("uvicorn.error").error("cannot bind")
    lines = capsys.readouterr().err.splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["cannot bind"]


def test_a_batch_holds_a_threads_lines_until_its_end_and_writes_whole_lines(tmp_path: Path) -> None:
    from worker.logging import PIPE_BUF, LineWriter, _whole_line_chunks

    writer = LineWriter()
    path = tmp_path / "batched.log"
    with path.open("w") as stream, pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "stderr", stream)
        with writer.batched():
            writer.write_line('{"event": "first"}')
            with writer.batched():  # nested: the outer block writes
                writer.write_line('{"event": "second"}\n')
            assert path.read_text() == ""  # held until the outer block ends
        writer.write_line('{"event": "third"}')
    assert path.read_text() == '{"event": "first"}\n{"event": "second"}\n{"event": "third"}\n'
    lines = [f'{{"n": {n}, "pad": "{"y" * 300}"}}\n' for n in range(40)] + ["z" * (PIPE_BUF + 10) + "\n"]
    chunks = list(_whole_line_chunks(lines))
    assert b"".join(chunks) == "".join(lines).encode()
    assert all(chunk.endswith(b"\n") for chunk in chunks)
    assert all(len(chunk) <= PIPE_BUF for chunk in chunks[:-1])
    assert len(chunks[-1]) == PIPE_BUF + 11  # a line longer than PIPE_BUF goes alone
