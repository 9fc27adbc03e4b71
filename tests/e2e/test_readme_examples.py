"""Every shell example of README.md, pasted top to bottom as a new user would, against a real ``spinledger serve``
and ``spinledger worker`` whose ``SPINLEDGER_API_KEYS`` is the README's own key map (parsed out of it, so the two
cannot drift), on a database of the module's own.

The convention the README's blocks follow, and how they are run, is in ``tests/e2e/readme_examples.py``:

- each ```` ```sh ```` / ```` ```bash ```` block runs in bash (``set -eE -o pipefail``), in order, sharing
  variables, functions and the working directory with the blocks before it;
- ``<!-- not run by the README test: REASON -->`` on the line above a block's fence leaves it out (``make run``
  and other servers): at most ``MOST_SKIPPED`` blocks may be;
- a ``curl`` command answers the status of the ``# NNN ...`` comment at the end of its last line or on the line
  right after it, or ``2xx`` when it has none; any command exiting non-zero fails;
- ``http://127.0.0.1:8000`` becomes the test server's URL (the README's ``BASE``), ``127.0.0.1:8765`` a free port;
- a block of reads only is tried again for a few seconds (the worker's views lag the writes), never forever.

A failure names the README line. ``SPINLEDGER_README=/path/to/copy.md`` runs the examples of another file (to see
a broken example fail)."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import Server, free_port
from tests.e2e.readme_examples import Block, ExampleFailed, Session, key_map, parse_readme
from tests.support import scratch_database

README = Path(os.environ.get("SPINLEDGER_README") or Path(__file__).resolve().parents[2] / "README.md")
MOST_SKIPPED = 3  # make run / make test, make run with the key map, make run for the smoke test's webhook receiver
# The README's smoke test runs --webhook-receiver on loopback, for which it starts the server with this; the examples
# call one at a time, so small pools leave the shared PostgreSQL's connections to the other tests.
README_SERVER_ENV = {"WEBHOOK_ALLOW_PRIVATE": "true", "DB_POOL_SIZE": "2", "DB_POOL_MAX_OVERFLOW": "2"}


@pytest.fixture(scope="module")
def blocks() -> list[Block]:
    return parse_readme(README.read_text())


@pytest.fixture(scope="module")
def readme_server(server_url: str, blocks: list[Block]) -> Iterator[tuple[Server, str]]:
    with scratch_database(server_url, "spinledger_readme") as url:
        env = {**README_SERVER_ENV, "SPINLEDGER_API_KEYS": json.dumps(key_map(blocks))}
        running = Server(url, env=env)
        yield running, url
        running.stop()


def a_session(tmp_path: Path, server: Server, database_url: str, readme_name: str = README.name) -> Session:
    """A reader's shell: an empty directory with the project's virtual environment at ``.venv``, the CLI pointed at
    the test's database (the README's commands use the embedded one of ``make run`` when it is unset)."""
    for tool in ("bash", "curl", "jq", "date"):
        if shutil.which(tool) is None:
            pytest.fail(f"the README's examples need {tool}: install it (apt-get install {tool})")
    workdir = tmp_path / "reader"
    workdir.mkdir()
    (workdir / ".venv").symlink_to(sys.prefix)
    if not (workdir / ".venv" / "bin" / "spinledger").exists():
        pytest.fail(f"no spinledger command in {sys.prefix}/bin: run the tests from the project's virtual environment")
    env = {name: value for name, value in os.environ.items() if not name.startswith("SPINLEDGER_")}
    env["DATABASE_URL"] = database_url
    return Session(workdir, env, base_url=server.base, receiver=f"127.0.0.1:{free_port()}", readme_name=readme_name)


def test_every_shell_example_of_the_readme_answers_as_the_readme_says(
        blocks: list[Block], readme_server: tuple[Server, str], tmp_path: Path) -> None:
    server, database_url = readme_server
    skipped = [block for block in blocks if block.skip_reason]
    assert len(skipped) <= MOST_SKIPPED, "the README test should run every example but a few servers; left out: " + ", ".join(
        f"{README.name}:{block.start} ({block.skip_reason})" for block in skipped)
    run = [block for block in blocks if not block.skip_reason]
    assert len(run) >= 20, f"only {len(run)} shell blocks found in {README}: is the convention still ```sh?"
    session = a_session(tmp_path, server, database_url)
    for block in run:
        try:
            session.run(block)
        except ExampleFailed as failure:
            pytest.fail(str(failure), pytrace=False)
    assert session.calls, "no curl of the README was checked: is the harness's curl wrapper in use?"
    print(f"{len(run)} blocks run, {len(skipped)} left out, {len(session.calls)} HTTP calls answered as the README says")


# The harness itself: a README that is wrong must fail, naming the line.

def test_a_commands_status_is_the_comment_at_its_end_or_on_the_line_after_it() -> None:
    (block,) = parse_readme(
        "intro\n"
        "```sh\n"
        "curl -X PUT \"$BASE/x\" -H 'A: b' \\\n"
        "  -d '{\"a\":\n"
        "  1}'\n"
        "# 201 {...}\n"
        "X=$(curl -s \"$BASE/y\" \\\n"
        "  | jq -r .a)   # 404 PLAYER_NOT_FOUND\n"
        "curl -X POST \"$BASE/w\" --data @- <<EOF\n"
        "{\"a\": \"$X\"}\n"
        "EOF\n"
        "# 200 replayed\n"
        "curl \"$BASE/z\"   # newest first\n"
        "```\n")
    assert block.start == 3
    assert [(c.start, c.end, c.expected_status) for c in block.commands] == [
        (3, 5, 201), (7, 8, 404), (9, 11, 200), (13, 13, None)]
    assert not block.retryable  # it writes


def test_a_block_marked_not_run_says_why() -> None:
    blocks = parse_readme("<!-- not run by the README test: starts the server -->\n```sh\nmake run\n```\n\n```bash\ncurl \"$BASE/healthz\"\n```\n")
    assert [(b.skip_reason, b.retryable) for b in blocks] == [("starts the server", False), (None, True)]


def test_a_status_comment_after_anything_but_curl_is_refused() -> None:
    with pytest.raises(ValueError, match="not curl"):
        parse_readme("```sh\n.venv/bin/spinledger db version\n# 200\n```\n")


def test_the_key_map_is_exported_once() -> None:
    assert key_map(parse_readme("```sh\nexport SPINLEDGER_API_KEYS='{\n  \"k\": [\"metrics\"]}'\n```\n")) == {"k": ["metrics"]}
    with pytest.raises(ValueError, match="once"):
        key_map(parse_readme("```sh\nexport SPINLEDGER_API_KEYS='{}'\n```\n```sh\nexport SPINLEDGER_API_KEYS='{}'\n```\n"))


def test_a_wrong_status_a_failing_command_and_a_read_that_never_answers_fail_naming_their_line(
        readme_server: tuple[Server, str], tmp_path: Path) -> None:
    server, database_url = readme_server
    session = a_session(tmp_path, server, database_url, readme_name="snippet.md")
    good, wrong_status, no_status, failing, never = parse_readme(
        "```sh\n"
        "BASE=http://127.0.0.1:8000\n"
        "curl \"$BASE/api/v1/players/nobody\"   # 401 UNAUTHORIZED: no key\n"
        "```\n"
        "```sh\n"
        "curl -X PUT \"$BASE/api/v1/players/nobody\" -d '{}'\n"
        "# 201\n"
        "```\n"
        "```sh\n"
        "curl -X POST \"$BASE/api/v1/awards\" -d '{}'\n"
        "```\n"
        "```sh\n"
        "echo one\n"
        "X=$(curl -s \"$BASE/healthz\" | jq -er .nothing)\n"
        "```\n"
        "```sh\n"
        "curl \"$BASE/api/v1/players/nobody\" \\\n"
        "  -H 'Authorization: Bearer nobody'\n"
        "# 200\n"
        "```\n")
    session.run(good)  # the variable it sets is there for the next blocks
    with pytest.raises(ExampleFailed, match=r"^snippet.md:6: `curl -X PUT .*` answered 401, the README says 201"):
        session.run(wrong_status)
    with pytest.raises(ExampleFailed, match=r"^snippet.md:10: .* answered 401, and the README gives no status, so it should succeed"):
        session.run(no_status)
    with pytest.raises(ExampleFailed, match=r"^snippet.md:14: `X=\$\(curl .*` exited 1"):
        session.run(failing)
    with pytest.raises(ExampleFailed, match=r"^snippet.md:17: `curl .*` answered 401, the README says 200"):
        session.run(never, retry_seconds=1.0)
