"""How numbers and text are written and wrapped."""

from __future__ import annotations

from core.text.format import compact, fmt, operand, signed, to_ascii, width_of, wrap


def test_wrap_breaks_chinese_between_characters() -> None:
    lines = wrap("梯度为正：w 变大 J 也会变大，所以 w 应该减小。", 12)
    assert all(width_of(line) <= 12 for line in lines)
    assert "".join(lines).replace(" ", "") == "梯度为正：w变大J也会变大，所以w应该减小。"
    assert not any(line.startswith(("，", "。", "：")) for line in lines)
    assert wrap("a bb ccc", 4) == ["a bb", "ccc"]


def test_numbers() -> None:
    assert fmt(0.59) == "0.59"
    assert fmt(-0.5) == "−0.5"
    assert fmt(1.2000000000000002) == "1.2"
    assert signed(0.8) == "+0.8" and signed(-0.8) == "−0.8"
    assert operand(-0.5) == "(−0.5)"
    assert compact(0.000438568) == "4.39e−4"
    assert fmt(float("inf")) == "∞" and fmt(float("nan")) == "nan"


def test_widths_and_ascii() -> None:
    assert width_of("ŷ1") == 2
    assert width_of("梯度") == 4
    assert to_ascii("∂J/∂ŷ · σ′ − 1") == "dJ/dy^ * sig' - 1"


def test_the_optimizers_glyphs_are_spelled_in_ascii() -> None:
    from core.text.format import to_ascii, to_ascii_cells

    adam = "θ ← θ − lr·m̂/(√v̂ + ε); m̂ = m/(1 − β1^t); g = ∂J/∂θ + λ·θ; μ, α, ±"
    spelled = to_ascii(adam)
    assert spelled.isascii()
    assert "theta <- theta - lr*m^/(sqrt(v^) + eps)" in spelled
    assert "m^ = m/(1 - beta1^t)" in spelled and "lambda*theta" in spelled
    cells = to_ascii_cells(adam)
    assert cells.isascii() and "?" not in cells
