"""The analyses' figures, read back from matplotlib: axes that show what was measured."""

import pytest

import hf_lth.analysis.plots as plots


@pytest.fixture
def figures(monkeypatch):
    """The figures the plot functions save, kept open for the test to read."""
    kept = []
    save = plots._save

    def keep(fig, path):
        kept.append(fig)
        return save(fig, path)

    monkeypatch.setattr(plots, "_save", keep)
    return kept


def run(step: int, round_index: int = 0) -> dict:
    return {"round": round_index, "step": step, "sparsity": 0.0, "alphas": [0.0, 0.5, 1.0], "errors": [0.2, 0.3, 0.2],
            "instability": 0.1}


def test_instability_plot_with_one_step_spans_a_step_either_side(figures, tmp_path):
    plots.plot_instability({"round 0, step 0": run(0)}, tmp_path / "one.png", "one step")
    summary = figures[0].axes[1]
    assert summary.get_xlim() == (-1.0, 1.0) and list(summary.get_xticks()) == [0]
    assert summary.get_xlabel() == "rewind step K"


def test_instability_plot_ticks_the_steps_measured(figures, tmp_path):
    runs = {f"round 0, step {k}": run(k) for k in (0, 5, 20)} | {"main round 2, step 5": run(5, 2)}
    plots.plot_instability(runs, tmp_path / "three.png", "three steps")
    summary = figures[0].axes[1]
    assert list(summary.get_xticks()) == [0, 5, 20]
    low, high = summary.get_xlim()
    assert low <= 0 and high >= 20
