"""The headless trace on the command line: --every, the streamed formats, and Ctrl+C mid-run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tui.cli import main


def story_weights(steps: int) -> list[float]:
    """The story's recurrence by hand: w ← w − 0.1 · 2(1.5w − 0.5) · 1.5."""
    w = [0.8]
    for _ in range(steps):
        w.append(w[-1] - 0.1 * 2 * (1.5 * w[-1] - 0.5) * 1.5)
    return w


def test_every_keeps_the_multiples_and_the_last_step_in_csv(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["--steps", "10", "--every", "4", "--format", "csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "step,loss,w,grad_w"
    steps = [int(line.split(",")[0]) for line in lines[1:]]
    assert steps == [0, 4, 8, 10]
    expected = story_weights(10)
    for line in lines[1:]:
        k, _loss, w, _grad = line.split(",")
        assert float(w) == pytest.approx(expected[int(k)], rel=1e-12)


def test_every_in_json_keeps_the_same_steps(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--steps", "7", "--every", "3", "--format", "json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [s["step"] for s in doc["steps"]] == [0, 3, 6, 7]
    assert doc["status"] == "training"
    assert doc["steps"][1]["params"]["w"] == pytest.approx(0.410975, rel=1e-12)


def test_every_in_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--steps", "5", "--every", "2"]) == 0
    rows = [r for r in capsys.readouterr().out.splitlines() if r.startswith("| ")][1:]
    assert [r.split("|")[1].strip() for r in rows] == ["2", "4", "5"]
    assert "0.4745" in rows[0] and "0.3568199375" in rows[-1]


@pytest.mark.parametrize("bad", ["0", "-3", "two"])
def test_a_bad_every_is_refused_in_one_line(bad: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["--every", bad])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--every" in err


def test_ctrl_c_mid_run_ends_with_whole_rows_and_status_130() -> None:
    # Ten million steps would take minutes: the interrupt comes long before the end.
    proc = subprocess.Popen(
        [sys.executable, "-m", "tui", "xor", "--steps", "10000000", "--format", "csv"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    time.sleep(1.0)  # started, and (the pipe unread) perhaps blocked on a full pipe: mid-run
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 130, err
    lines = out.decode().splitlines()
    width = len(lines[0].split(","))
    assert len(lines) > 2
    assert all(len(line.split(",")) == width for line in lines)  # every row whole
    steps = [int(line.split(",")[0]) for line in lines[1:]]
    assert steps == list(range(len(steps)))
    assert b"interrupted" in err and b"Traceback" not in err
