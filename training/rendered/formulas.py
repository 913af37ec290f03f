"""Mathematical formulas typeset with matplotlib mathtext (no LaTeX needed).

Items are well-known formulas and equations (their typesetting is the picture Commons
holds as "File:...formula.svg"), plus generated polynomial, integral and sum
expressions so that held-out formulas are new expressions, not new renderings.
Licence: generated here, CC0 (formulas are not copyrightable).
"""

from __future__ import annotations

import matplotlib
import numpy as np
from PIL import Image

from training.rendered.item import Item

matplotlib.use("Agg")

LABELS = ("Mathematics",)
LICENCE = "CC0-1.0 (typeset by training/rendered/formulas.py with matplotlib mathtext)"
FONTSETS = ("dejavusans", "cm", "stix", "stixsans", "dejavuserif")
KNOWN = (
    r"e^{i\pi} + 1 = 0",
    r"a^2 + b^2 = c^2",
    r"x = \frac{-b \pm \sqrt{b^2 - 4ac}}{2a}",
    r"E = mc^2",
    r"\int_{-\infty}^{\infty} e^{-x^2}\,dx = \sqrt{\pi}",
    r"\sum_{n=1}^{\infty} \frac{1}{n^2} = \frac{\pi^2}{6}",
    r"f(x) = \sum_{n=0}^{\infty} \frac{f^{(n)}(a)}{n!} (x - a)^n",
    r"\nabla \cdot \mathbf{E} = \frac{\rho}{\varepsilon_0}",
    r"\nabla \times \mathbf{B} = \mu_0 \mathbf{J} + \mu_0 \varepsilon_0 "
    r"\frac{\partial \mathbf{E}}{\partial t}",
    r"\frac{d}{dx} \sin x = \cos x",
    r"\lim_{x \to 0} \frac{\sin x}{x} = 1",
    r"\binom{n}{k} = \frac{n!}{k!\,(n-k)!}",
    r"\det(A - \lambda I) = 0",
    r"i\hbar \frac{\partial}{\partial t}\Psi = \hat{H}\Psi",
    r"F = G \frac{m_1 m_2}{r^2}",
    r"\sin^2\theta + \cos^2\theta = 1",
    r"\zeta(s) = \sum_{n=1}^{\infty} n^{-s}",
    r"\Gamma(z) = \int_0^{\infty} t^{z-1} e^{-t}\,dt",
    r"P(A \mid B) = \frac{P(B \mid A)\,P(A)}{P(B)}",
    r"\varphi = \frac{1 + \sqrt{5}}{2}",
    r"\oint_C \mathbf{F} \cdot d\mathbf{r} = \iint_S (\nabla \times \mathbf{F}) \cdot d\mathbf{S}",
    r"\mathcal{F}\{f\}(\xi) = \int f(x)\, e^{-2\pi i x \xi}\,dx",
    r"\sigma = \sqrt{\frac{1}{N} \sum_{i=1}^{N} (x_i - \mu)^2}",
    r"V - E + F = 2",
    r"\frac{\partial u}{\partial t} = \alpha \nabla^2 u",
    r"\prod_{p} \frac{1}{1 - p^{-s}}",
    r"A = \pi r^2",
    r"\log_b(xy) = \log_b x + \log_b y",
    r"\mathbf{a} \times \mathbf{b} = |\mathbf{a}|\,|\mathbf{b}| \sin\theta\, \mathbf{n}",
    r"\int_a^b f'(x)\,dx = f(b) - f(a)",
)
SYMBOLS = ("x", "y", "z", "t", r"\alpha", r"\beta", r"\theta", "n", "k", r"\lambda")


def items(generated: int) -> list[Item]:
    known = [
        Item("formula", f"formula/known-{i}", LABELS, LICENCE, key=f"known:{i}")
        for i in range(len(KNOWN))
    ]
    return known + [
        Item("formula", f"formula/generated-{i}", LABELS, LICENCE, key=f"generated:{i}")
        for i in range(generated)
    ]


def _generated(data: np.random.Generator) -> str:
    v = str(data.choice(SYMBOLS))
    kind = data.integers(0, 4)
    if kind == 0:
        terms = [
            f"{int(data.integers(1, 20))}{v}^{{{p}}}"
            for p in range(int(data.integers(2, 6)), 0, -1)
        ]
        return " + ".join(terms) + f" = {int(data.integers(0, 99))}"
    if kind == 1:
        a, b = sorted(data.integers(0, 10, 2))
        return (
            rf"\int_{{{a}}}^{{{b}}} {v}^{{{int(data.integers(2, 6))}}}\,d{v} = "
            rf"\frac{{{int(data.integers(1, 99))}}}{{{int(data.integers(2, 9))}}}"
        )
    if kind == 2:
        return (
            rf"\sum_{{{v}=1}}^{{N}} \frac{{1}}{{{v}^{{{int(data.integers(2, 5))}}}}}"
            rf" \leq \sqrt{{{int(data.integers(2, 50))}}}"
        )
    return (
        rf"f({v}) = \frac{{{v}^2 - {int(data.integers(1, 9))}}}{{{v} + "
        rf"{int(data.integers(1, 9))}}},\quad {v} \neq -{int(data.integers(1, 9))}"
    )


def render(item: Item, rng: np.random.Generator) -> Image.Image:
    import matplotlib.pyplot as plt

    kind, number = item.key.split(":")
    text = KNOWN[int(number)] if kind == "known" else _generated(np.random.default_rng(int(number)))
    lines = [text]
    if rng.random() < 0.25:  # an equation array: the formula with a second line
        extra = _generated(np.random.default_rng(int(rng.integers(10**6, 2 * 10**6))))
        lines.append(extra)
    size = rng.uniform(14, 30)
    fig = plt.figure(figsize=(8, 1.2 * len(lines)), dpi=100)
    colour = "black" if rng.random() < 0.85 else str(rng.choice(["#1f3b99", "#8b0000"]))
    with plt.rc_context({"mathtext.fontset": str(rng.choice(FONTSETS))}):
        for k, line in enumerate(lines):
            fig.text(
                0.5,
                1 - (k + 0.5) / len(lines),
                f"${line}$",
                ha="center",
                va="center",
                fontsize=size,
                color=colour,
            )
        fig.canvas.draw()
        image = Image.frombuffer(
            "RGBA", fig.canvas.get_width_height(), fig.canvas.buffer_rgba()
        ).copy()
    plt.close(fig)
    # Drop the empty margins (keep a little), as formula SVGs on Commons are tight.
    alpha = np.asarray(image.convert("L")) < 250
    ys, xs = np.nonzero(alpha)
    if len(xs):
        m = 6
        image = image.crop(
            (
                max(xs.min() - m, 0),
                max(ys.min() - m, 0),
                min(xs.max() + m, image.size[0]),
                min(ys.max() + m, image.size[1]),
            )
        )
    return image
