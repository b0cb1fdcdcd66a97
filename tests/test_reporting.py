"""The training progress bar: on a terminal only, toward the next tick, with the run's ETA (no timing)."""

import io

import pytest

from stylegan_tf.training.reporting import Reporter, TickProgress, eta_seconds, format_time


class Terminal(io.StringIO):
    def isatty(self):
        return True


class Clock:
    def __init__(self, t=100.0):
        self.t = t

    def __call__(self):
        return self.t


def test_eta_arithmetic():
    assert eta_seconds(300, 1000, 100.0) == 7.0
    assert eta_seconds(1000, 1000, 100.0) == 0.0
    assert eta_seconds(1200, 1000, 100.0) == 0.0
    assert eta_seconds(0, 1000, None) is None and eta_seconds(0, 1000, 0.0) is None
    assert format_time(7) == "7s" and format_time(3725) == "1h 02m"


def test_no_bar_when_stdout_is_not_a_terminal():
    stream = io.StringIO()
    progress = TickProgress(1000, stream)
    progress.update(8, 0, 32, tick=1)
    assert not progress.enabled and progress.bar is None and stream.getvalue() == ""
    assert not Reporter("unused", enabled=False, stream=Terminal()).show_progress  # not the chief
    Reporter("unused", enabled=False).progress(8, 0, 32, 1000, 1)  # a no-op


def test_bar_toward_the_next_tick_with_the_rate_and_eta_of_the_run():
    stream, clock = Terminal(), Clock()
    progress = TickProgress(total_nimg=64, stream=stream, clock=clock)
    progress.update(8, 0, 32, tick=1)          # first step of tick 1: the reference, no rate yet
    assert progress.bar.total == 32 and progress.bar.n == 8
    assert progress.postfix(8) == "kimg 0.0, - img/s, run ETA -"
    assert "tick 1" in stream.getvalue()
    clock.t += 2.0
    progress.update(16, 0, 32, tick=1)         # 8 images in 2 s
    assert progress.bar.n == 16
    assert progress.rate(16) == 4.0
    assert progress.postfix(16) == "kimg 0.0, 4.0 img/s, run ETA 12s"  # (64 - 16) / 4
    # The next tick gets a new bar; the time between ticks (grids, snapshots) is not training time.
    clock.t += 60.0
    progress.update(40, 32, 64, tick=2)
    assert progress.bar.total == 32 and progress.bar.n == 8 and progress.rate(40) is None
    clock.t += 1.0
    progress.update(48, 32, 64, tick=2)
    assert progress.postfix(48) == "kimg 0.0, 8.0 img/s, run ETA 2s"
    progress.close()
    assert progress.bar is None


def test_the_last_tick_ends_at_the_total():
    progress = TickProgress(total_nimg=40, stream=Terminal(), clock=Clock())
    progress.update(36, 32, 64, tick=2)   # a tick of 32 images, but the run ends at 40
    assert progress.bar.total == 8 and progress.bar.n == 4
    progress.update(40, 32, 64, tick=2)
    assert progress.bar.n == 8


def test_reporter_closes_the_bar_before_the_tick_line(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    terminal = Terminal()
    reporter = Reporter(tmp_path, enabled=True, stream=terminal)
    assert reporter.show_progress
    reporter.progress(8, 0, 32, 64, 1)
    assert reporter.bar.bar is not None
    values = {"tick": 1, "kimg": 0.032, "lod": 0.0, "resolution": 8, "minibatch": 8, "time_total": 3.0,
              "sec_per_kimg": 90.0, "img_per_sec": 11.0, "eta_sec": 3.0}
    reporter.tick(values, step=0)
    assert reporter.bar.bar is None
    assert "tick 1" in capsys.readouterr().out
