"""Fixtures of the revocation suites: another process with a view of its own."""

import os
import select
import signal
import time

import pytest

from accounts.revocation import process_view

WAIT = 10.0  # bound of every wait on a condition


class Subscriber:
    """A forked process running the per-process view, driven through two pipes."""

    def __init__(self, pid, commands, answers):
        self.pid, self.commands, self.answers = pid, commands, answers

    def ask(self, command):
        os.write(self.commands, command.encode() + b"\n")
        ready = select.select([self.answers], [], [], WAIT)[0]
        assert ready, f"the subscriber did not answer {command!r} in time"
        return os.read(self.answers, 200).decode()

    def freeze(self):
        os.kill(self.pid, signal.SIGSTOP)

    def thaw(self):
        os.kill(self.pid, signal.SIGCONT)


def _serve(commands, answers, wait_trusted):
    """The child: become trusted (if asked), then answer one command per line."""
    deadline = time.monotonic() + WAIT
    process_view.messages_seen()  # starts the subscriber
    while wait_trusted and not process_view.trusted() and time.monotonic() < deadline:
        time.sleep(0.01)  # poll interval of a bounded wait
    os.write(answers, process_view._current().member.encode())
    for line in os.fdopen(commands, "rb"):
        command, _, key = line.decode().strip().partition(" ")
        if command == "store":
            seen = process_view.messages_seen()
            process_view.store(key, "active", seen)
            answer = "ok"
        elif command == "get":
            value = process_view.get(key)
            answer = "miss" if value is process_view.MISS else str(value)
        else:  # "trusted"
            answer = str(process_view.trusted())
        os.write(answers, answer.encode())


@pytest.fixture
def subscriber():
    """subscriber(wait_trusted=True) -> a Subscriber: a forked process whose view is
    trusted (a live member) before this returns. Thawed, stopped and reaped at the end."""
    children = []

    def _start(wait_trusted=True):
        commands_r, commands_w = os.pipe()
        answers_r, answers_w = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: never returns into pytest
            try:
                os.close(commands_w)
                os.close(answers_r)
                _serve(commands_r, answers_w, wait_trusted)
            finally:
                process_view.stop()
                os._exit(0)
        os.close(commands_r)
        os.close(answers_w)
        child = Subscriber(pid, commands_w, answers_r)
        children.append(child)
        assert select.select([answers_r], [], [], WAIT + 1)[0], "the subscriber did not start"
        child.member = os.read(answers_r, 200).decode()
        return child

    yield _start
    for child in children:
        child.thaw()
        os.close(child.commands)  # the child reads EOF, stops, leaves the members
        exit_fd = os.pidfd_open(child.pid)
        try:
            if not select.select([exit_fd], [], [], WAIT)[0]:
                os.kill(child.pid, signal.SIGKILL)
            os.waitpid(child.pid, 0)
        finally:
            os.close(exit_fd)
            os.close(child.answers)
