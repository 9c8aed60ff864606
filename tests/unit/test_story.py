"""The numbers of the blog post the project started from, and the classic 2-2-2 worked example."""

import itertools
import math

import pytest

from core.files.loader import load_builtin
from core.stepping.session import Phase, Session, StatusKind
from core.teaching.explain import explain, plain, render

# The story's table: w(new) = w(old) − 0.1·(4.5·w(old) − 1.5).
STORY_WEIGHTS = [0.8, 0.59, 0.4745, 0.410975, 0.37603625, 0.3568199375]


def test_first_forward_pass_gives_1_2(story: Session) -> None:
    snap = story.forward()
    assert snap.evaluation.samples[0].a[1][0] == pytest.approx(1.2, abs=1e-15)


def test_the_story_table_weight_by_weight(story: Session) -> None:
    for old, new in itertools.pairwise(STORY_WEIGHTS):
        assert story.snapshot.params[0] == pytest.approx(old, abs=1e-14)
        snap = story.step()
        # ∂J/∂w = 2(ŷ − y)·x = 4.5w − 1.5, from the story's derivation.
        assert snap.evaluation.grads[0] == pytest.approx(4.5 * old - 1.5, abs=1e-14)
        assert snap.params[0] == pytest.approx(new, abs=1e-14)


def test_first_gradient_is_2_1_and_update_0_59(story: Session) -> None:
    snap = story.step()
    assert snap.evaluation.grads[0] == pytest.approx(2.1, abs=1e-14)
    assert snap.evaluation.loss == pytest.approx(0.49, abs=1e-15)
    assert snap.params[0] == pytest.approx(0.59, abs=1e-15)


def test_training_converges_to_one_third(story: Session) -> None:
    snap = story.run(1000)
    assert snap.status.kind is StatusKind.CONVERGED
    assert snap.params[0] == pytest.approx(1 / 3, abs=1e-6)
    # The error shrinks by |1 − 0.1·4.5| = 0.55 a step, so it takes about 23 steps to 1e-12.
    assert 15 <= snap.step <= 30


def test_explain_w_writes_out_the_story(story: Session) -> None:
    text = "\n".join(plain(render(explain(story.step(), 0))))
    assert "∂J/∂w = ∂J/∂ŷ · ∂ŷ/∂w" in text
    assert "2(ŷ − y) · x" in text
    assert "2(1.2 − 0.5) · 1.5" in text
    assert "= 2.1" in text
    assert "w ← w − lr·∂J/∂w = 0.8 − 0.1 · 2.1 = 0.59" in text


def test_phases_walk_forward_loss_backward_update(story: Session) -> None:
    phases = [story.advance().phase for _ in range(5)]
    assert phases == [Phase.FORWARD, Phase.LOSS, Phase.BACKWARD, Phase.UPDATE, Phase.FORWARD]


# Matt Mazur, "A Step by Step Backpropagation Example" (2015): the textbook 2-2-2 network.
def test_textbook_2_2_2_first_step() -> None:
    session = Session(load_builtin("textbook-2-2-2"))
    snap = session.step()
    ev = snap.evaluation
    names = snap.scenario.param_names
    assert ev.loss == pytest.approx(0.298371109, abs=1e-9)
    h = ev.samples[0].a[1]
    assert h[0] == pytest.approx(0.593269992, abs=1e-9)
    assert h[1] == pytest.approx(0.596884378, abs=1e-9)
    o = ev.samples[0].a[2]
    assert o[0] == pytest.approx(0.75136507, abs=1e-8)
    assert o[1] == pytest.approx(0.772928465, abs=1e-9)
    assert ev.grads[names.index("w5")] == pytest.approx(0.082167041, abs=1e-9)
    assert ev.grads[names.index("w1")] == pytest.approx(0.000438568, abs=1e-9)
    expected = {
        "w1": 0.149780716,
        "w2": 0.19956143,
        "w3": 0.24975114,
        "w4": 0.29950229,
        "w5": 0.35891648,
        "w6": 0.408666186,
        "w7": 0.511301270,
        "w8": 0.561370121,
    }
    for name, value in expected.items():
        assert snap.params[names.index(name)] == pytest.approx(value, abs=1e-8), name
    # Biases are frozen in this scenario.
    assert snap.params[names.index("b1")] == 0.35
    assert snap.params[names.index("b3")] == 0.60


def test_textbook_second_error_and_hidden_path_sum() -> None:
    session = Session(load_builtin("textbook-2-2-2"))
    snap = session.step()
    ex = explain(snap, snap.scenario.param_names.index("w1"))
    assert ex.path_sum is not None
    assert [p.value for p in ex.path_sum.paths] == pytest.approx(
        [0.055399425, -0.019049119], abs=1e-9
    )
    assert ex.path_sum.value == pytest.approx(0.036350306, abs=1e-9)
    # Mazur quotes 0.291027924 for the error after the first round, but his own published
    # weights give 0.29102777 when pushed through the network by hand (below): trust the weights.
    w = [
        0.149780716,
        0.19956143,
        0.24975114,
        0.29950229,
        0.35891648,
        0.408666186,
        0.511301270,
        0.561370121,
    ]

    def s(z: float) -> float:
        return 1 / (1 + math.exp(-z))

    h1 = s(w[0] * 0.05 + w[1] * 0.10 + 0.35)
    h2 = s(w[2] * 0.05 + w[3] * 0.10 + 0.35)
    o1 = s(w[4] * h1 + w[5] * h2 + 0.60)
    o2 = s(w[6] * h1 + w[7] * h2 + 0.60)
    by_hand = 0.5 * (0.01 - o1) ** 2 + 0.5 * (0.99 - o2) ** 2
    assert abs(by_hand - 0.291027924) > 1e-7  # the quoted figure is off
    assert session.step().evaluation.loss == pytest.approx(by_hand, abs=1e-9)
