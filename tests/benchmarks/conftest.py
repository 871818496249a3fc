"""Benchmarks: one table of every target at the end of the run (``make bench``)."""

from __future__ import annotations

from tests.benchmarks._timing import summary_lines


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    lines = summary_lines()
    if lines:
        terminalreporter.write_line("")
        for line in lines:
            terminalreporter.write_line(line)
