"""The README's shell examples as a test runs them: parsed out of the Markdown, run in bash one block after the
other against a real server, each ``curl`` checked against the status the README gives it.

The convention (the README follows it; ``tests/e2e/test_readme_examples.py`` enforces it):

- Every ```` ```sh ```` or ```` ```bash ```` block runs, top to bottom, as a reader pastes them, in bash with
  ``set -eE -o pipefail``. Blocks share one session: the variables and functions a block sets, and the directory it
  ends in, are there for the next (a block runs in a fresh bash that loads them). The directory starts empty,
  with ``.venv`` linked to the virtual environment, so ``.venv/bin/spinledger`` works and the files examples write
  (``-o events.csv``) land there.
- A block preceded by ``<!-- not run by the README test: REASON -->`` (the line right above its fence) is not
  run: ``make run`` itself, servers. The test keeps that list short.
- A ``curl`` command's expected HTTP status is a comment starting with three digits — ``# 201 {...}`` — at the
  end of its last line or on the line right after it. A ``curl`` without one must answer ``2xx``. A command that
  exits non-zero fails the block.
- Every block's ``http://127.0.0.1:8000`` (the README's ``BASE``) becomes the test server's base URL, and
  ``127.0.0.1:8765`` (the smoke test's webhook receiver) a free port: nothing else is rewritten.
- A block whose every ``curl`` is a GET, and that runs no ``spinledger`` command, is run again for up to
  ``READ_RETRY_SECONDS`` until it answers as documented: the views it reads lag the writes by the worker's
  batches. It still fails if it never does.

The wrapper that checks the statuses is a bash function ``curl``: it runs the real one with ``--write-out`` and
records the status with the README line it was called from (``BASH_LINENO``)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

SHELL_LANGUAGES = {"sh", "bash"}
SKIP_MARKER = re.compile(r"^<!--\s*not run by the README test:\s*(.+?)\s*-->\s*$")
FENCE = re.compile(r"^```(\S*)\s*$")
STATUS_COMMENT = re.compile(r"^#\s*([1-5]\d\d)\b")
CURL = re.compile(r"(?:^|[\s(|;&])curl\s")
WRITES = re.compile(r"\s(?:-X\s*(?!GET\b)\w+|--request\s+(?!GET\b)\w+|-d\b|--data\S*|-F\b|--form\b|-T\b|--upload-file\b)")
KEY_MAP = re.compile(r"export SPINLEDGER_API_KEYS='([^']*)'")
SPINLEDGER_COMMAND = re.compile(r"(?:^|[\s/])spinledger\s", re.MULTILINE)
HEREDOC = re.compile(r"<<(-?)\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\2")
README_BASE = "http://127.0.0.1:8000"
README_RECEIVER = "127.0.0.1:8765"
READ_RETRY_SECONDS = 15.0
BLOCK_TIMEOUT_SECONDS = 120


class ExampleFailed(AssertionError):
    """A README example that did not answer as the README says; the message names its line."""


@dataclass
class Command:
    """One command of a block as the shell reads it (continued lines, quotes and here-documents included)."""

    start: int  # README line numbers, 1-based, inclusive
    end: int
    text: str
    expected_status: int | None = None

    @property
    def is_curl(self) -> bool:
        return bool(CURL.search(" " + self.text))

    @property
    def writes(self) -> bool:
        return self.is_curl and bool(WRITES.search(" " + self.text))

    @property
    def first_line(self) -> str:
        return self.text.splitlines()[0].strip()


@dataclass
class Block:
    start: int  # the README line of the block's first line of code
    language: str
    lines: list[str]
    skip_reason: str | None = None
    commands: list[Command] = field(default_factory=list)

    @property
    def code(self) -> str:
        return "\n".join(self.lines) + "\n"

    @property
    def retryable(self) -> bool:
        """Only reads: running it again changes nothing."""
        curls = [c for c in self.commands if c.is_curl]
        return bool(curls) and not any(c.writes for c in curls) and not SPINLEDGER_COMMAND.search(self.code)

    def command_at(self, line: int) -> Command | None:
        for command in self.commands:
            if command.start <= line <= command.end:
                return command
        return None


def parse_readme(text: str) -> list[Block]:
    """Every shell block of the Markdown, with its commands and the statuses the README gives them."""
    blocks: list[Block] = []
    lines = text.splitlines()
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        language = opening.group(1).lower()
        above = lines[index - 1] if index > 0 else ""
        marker = SKIP_MARKER.match(above.strip())
        body_start = index + 1
        index += 1
        while index < len(lines) and not lines[index].startswith("```"):
            index += 1
        if language in SHELL_LANGUAGES:
            block = Block(start=body_start + 1, language=language, lines=lines[body_start:index],
                          skip_reason=marker.group(1) if marker else None)
            block.commands = split_commands(block.lines, block.start)
            blocks.append(block)
        index += 1  # past the closing fence
    return blocks


def split_commands(lines: list[str], first_line: int) -> list[Command]:
    """The block's commands, by a small scanner of bash's quoting: a newline ends a command unless it is escaped,
    quoted, inside ``$( )`` or part of a here-document; ``#`` at a word's start comments out the rest of the line."""
    commands: list[Command] = []
    current: list[str] = []
    start = 0
    stack: list[str] = []  # "'", '"', "(" (command substitution or subshell)
    heredocs: list[tuple[str, bool]] = []
    trailing_comment: dict[int, str] = {}
    row = 0
    while row < len(lines):
        line = lines[row]
        if not current:
            start = row
        current.append(line)
        column = 0
        while column < len(line):
            char = line[column]
            top = stack[-1] if stack else None
            if top == "'":
                if char == "'":
                    stack.pop()
            elif char == "\\":
                column += 1  # the next character is taken as it is (a newline: the line continues)
            elif top == '"':
                if char == '"':
                    stack.pop()
                elif line.startswith("$(", column):
                    stack.append("(")
                    column += 1
            else:
                if char == "#" and (column == 0 or line[column - 1] in " \t;|&("):
                    if top is None:
                        trailing_comment[row] = line[column:]
                    break
                if char in "'\"":
                    stack.append(char)
                elif char == "(":
                    stack.append("(")
                elif char == ")" and top == "(":
                    stack.pop()
                elif line.startswith("<<", column) and not line.startswith("<<<", column):
                    heredoc = HEREDOC.match(line, column)
                    if heredoc:
                        heredocs.append((heredoc.group(3), heredoc.group(1) == "-"))
                        column = heredoc.end() - 1
            column += 1
        continued = line.endswith("\\") and not line.endswith("\\\\") and (not stack or stack[-1] != "'")
        row += 1
        for delimiter, strip_tabs in heredocs:  # the here-documents' bodies follow the line that opened them
            while row < len(lines):
                body = lines[row]
                current.append(body)
                row += 1
                if (body.lstrip("\t") if strip_tabs else body) == delimiter:
                    break
        heredocs = []
        if stack or continued:
            continue
        text = "\n".join(current)
        if text.strip() and not text.strip().startswith("#"):
            commands.append(Command(start=first_line + start, end=first_line + row - 1, text=text))
        current = []
    for command in commands:
        end_row = command.end - first_line
        comment = trailing_comment.get(end_row, "")
        if not STATUS_COMMENT.match(comment) and end_row + 1 < len(lines):
            comment = lines[end_row + 1].strip()
        status = STATUS_COMMENT.match(comment)
        if status:
            if not command.is_curl:
                raise ValueError(f"line {command.start}: a status comment ({comment!r}) after a command that is not curl")
            command.expected_status = int(status.group(1))
    return commands


def key_map(blocks: list[Block]) -> dict[str, object]:
    """The ``SPINLEDGER_API_KEYS`` the README tells its reader to export: exactly one."""
    found = [match.group(1) for block in blocks for match in KEY_MAP.finditer(block.code)]
    if len(found) != 1:
        raise ValueError(f"the README should export SPINLEDGER_API_KEYS once, as its one key map; it does {len(found)} times")
    keys = json.loads(found[0])
    assert isinstance(keys, dict)
    return keys


DRIVER = r"""
__readme_vars=$'\n'"$(compgen -v)"$'\n'
if [ -f "$__README_STATE" ]; then source "$__README_STATE"; fi
curl() {
  local __line=0 __i __out __rc=0 __status=000
  for ((__i = 0; __i < ${#BASH_LINENO[@]}; __i++)); do  # the block's line: a function's body may be elsewhere
    if [[ ${BASH_SOURCE[__i + 1]} == "$__README_BLOCK" ]]; then __line=${BASH_LINENO[__i]}; break; fi
  done
  __out=$(command curl --no-progress-meter --write-out '\n__README_STATUS__%{http_code}' "$@") || __rc=$?
  if [[ $__out == *__README_STATUS__* ]]; then
    __status=${__out##*__README_STATUS__}
    __out=${__out%$'\n'__README_STATUS__*}
  fi
  printf '%s' "$__out"
  printf '%s %s %s %s\n' "$__line" "$__status" "$__rc" "$(printf '%s' "${__out:0:400}" | tr '\n\t\r' '   ')" >> "$__README_CALLS"
  return $__rc
}
set -eE -o pipefail
trap 'printf "%s\t%s\n" "$LINENO" "$BASH_COMMAND" >> "$__README_ERRORS"' ERR
source "$__README_BLOCK"
set +eE +o pipefail
trap - ERR
{
  for __v in $(compgen -v); do
    case $__readme_vars in *$'\n'"$__v"$'\n'*) continue ;; esac
    case $__v in __readme* | __README* | __v) continue ;; esac
    declare -p "$__v" 2>/dev/null
  done
  for __f in $(compgen -A function); do
    [ "$__f" = curl ] || declare -f "$__f"
  done
  printf 'cd %q\n' "$PWD"
} > "$__README_STATE.new"
mv "$__README_STATE.new" "$__README_STATE"
"""


@dataclass
class Call:
    line: int  # the README's
    status: int
    exit_code: int
    body: str


class Session:
    """One reader's shell, pasting the README's blocks in order."""

    def __init__(self, workdir: Path, env: dict[str, str], base_url: str, receiver: str, readme_name: str = "README.md"):
        self.workdir = workdir
        self.env = env
        self.substitutions = {README_BASE: base_url, README_RECEIVER: receiver}
        self.readme_name = readme_name
        self.state = workdir / ".readme-test" / "state.sh"
        self.state.parent.mkdir(parents=True, exist_ok=True)
        self.state.write_text(f"cd {shlex.quote(str(workdir))}\n")
        self.driver = self.state.parent / "driver.sh"
        self.driver.write_text(DRIVER)
        self.calls: list[Call] = []  # every HTTP call the examples made, as checked

    def run(self, block: Block, retry_seconds: float = READ_RETRY_SECONDS) -> None:
        """Runs the block; raises ``ExampleFailed`` naming the README line of the first thing that went wrong."""
        deadline = time.monotonic() + (retry_seconds if block.retryable else 0)
        while True:
            failure = self._attempt(block)
            if failure is None:
                return
            if time.monotonic() >= deadline:
                raise ExampleFailed(failure)
            time.sleep(0.5)

    def _attempt(self, block: Block) -> str | None:
        scratch = self.state.parent
        code = block.code
        for readme_text, replacement in self.substitutions.items():
            code = code.replace(readme_text, replacement)
        script, calls, errors = scratch / "block.sh", scratch / "calls", scratch / "errors"
        script.write_text(code)
        calls.write_text("")
        errors.write_text("")
        env = {**self.env, "__README_STATE": str(self.state), "__README_BLOCK": str(script),
               "__README_CALLS": str(calls), "__README_ERRORS": str(errors)}
        where = f"{self.readme_name}:{block.start}"
        try:
            done = subprocess.run(["bash", "--noprofile", "--norc", str(self.driver)], check=False, cwd=self.workdir, env=env,
                                  stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=BLOCK_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            return f"{where}: the block did not finish in {BLOCK_TIMEOUT_SECONDS} s"
        output = _tail(done.stdout + done.stderr)
        recorded = [self._call(block, line) for line in calls.read_text().split("\n") if line.strip()]
        for call in recorded:
            command = block.command_at(call.line)
            expected = command.expected_status if command else None
            shown = command.first_line if command else "curl"
            if call.exit_code and call.status == 0:
                return f"{self.readme_name}:{call.line}: `{shown}` got no answer (curl exit {call.exit_code})\n{output}"
            if expected is None and not 200 <= call.status < 300:
                return (f"{self.readme_name}:{call.line}: `{shown}` answered {call.status}, and the README gives no status, "
                        f"so it should succeed (2xx): {call.body}")
            if expected is not None and call.status != expected:
                return f"{self.readme_name}:{call.line}: `{shown}` answered {call.status}, the README says {expected}: {call.body}"
        if done.returncode:
            failed = errors.read_text().splitlines()
            if failed:
                line, _, bash_command = failed[0].partition("\t")
                readme_line = block.start + int(line) - 1
                command = block.command_at(readme_line)
                shown = command.first_line if command else bash_command
                return f"{self.readme_name}:{readme_line}: `{shown}` exited {done.returncode}\n{output}"
            return f"{where}: the block exited {done.returncode}\n{output}"
        self.calls.extend(recorded)
        called = {call.line for call in recorded}
        for command in block.commands:
            if command.expected_status is not None and not any(command.start <= line <= command.end for line in called):
                return f"{self.readme_name}:{command.start}: the README says {command.expected_status}, but `{command.first_line}` made no HTTP call"
        return None

    def _call(self, block: Block, logged: str) -> Call:
        line, status, exit_code, *body = logged.split(" ", 3)
        return Call(line=block.start + int(line) - 1, status=int(status), exit_code=int(exit_code), body=(body or [""])[0][:300])


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join("    " + line for line in text.strip().splitlines()[-lines:])
