import pytest

from hf_lth.report.cli import main
from hf_lth.report.plots import plot_accuracy_vs_sparsity
from hf_lth.report.text import comparison_table, describe_headline, headline, round_table, seeds_headline, seeds_table

RESULTS = {
    "best_round": 1,
    "rounds": [
        {"round": 0, "sparsity": 0.0, "eval_accuracy": 0.80, "test_accuracy": 0.79, "train_steps": 10, "wall_time_s": 3.0},
        {"round": 1, "sparsity": 0.2, "eval_accuracy": 0.82, "test_accuracy": 0.80, "train_steps": 10, "wall_time_s": 3.0},
    ],
    "controls": {"random_pruning": [{"round": 1, "sparsity": 0.2, "test_accuracy": 0.75}]},
}


def test_round_table_marks_best_and_shows_controls():
    table = round_table(RESULTS).splitlines()
    assert "random pruning test acc %" in table[0]
    assert table[3].startswith("| 1 (best) | 20.0 | 82.00 |") and table[3].endswith("| 75.00 |")
    assert "val macro-F1 %" in table[0]
    assert table[2].endswith("| – |")


def test_plot_and_cli(tmp_path, capsys):
    png = plot_accuracy_vs_sparsity(RESULTS, tmp_path / "plot.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert main([str(tmp_path)]) == 2 and "lth_results.json does not exist" in capsys.readouterr().err


def test_headline_figures():
    results = {
        "best_round": 2,
        "rounds": [
            {"round": 0, "sparsity": 0.0, "test_accuracy": 0.880},
            {"round": 1, "sparsity": 0.5, "test_accuracy": 0.884},
            {"round": 2, "sparsity": 0.8, "test_accuracy": 0.876},
            {"round": 3, "sparsity": 0.9, "test_accuracy": 0.860},
        ],
        "controls": {"random_pruning": [{"round": 3, "sparsity": 0.9, "test_accuracy": 0.80}]},
    }
    figures = headline(results)
    assert figures["dense_accuracy"] == 0.880 and figures["best_round"] == 2
    assert "sparsest_matching" not in figures  # no per-example predictions: matching is not judged
    assert figures["compared_sparsity"] == 0.9 and figures["imp_minus_random_pruning"] == pytest.approx(0.06)
    lines = describe_headline(figures)
    assert "matching dense: not judged (the rounds kept no per-example predictions)" in lines
    assert "IMP ticket minus random pruning at round 3, 90.0% of prunable weights: +6.00 points (test accuracy)" in lines


def test_headline_says_none_compares_where_controls_exist_and_flags_collapse():
    results = {
        "best_round": 1,
        "rounds": [
            {"round": 0, "sparsity": 0.0, "test_accuracy": 0.88},
            {"round": 1, "sparsity": 0.5, "sparsity_without_embedding": 0.2, "test_accuracy": 0.85},
            {"round": 2, "sparsity": 0.9, "sparsity_without_embedding": 0.4, "test_accuracy": 0.84},
        ],
        "controls": {"random_pruning": [{"round": 1, "sparsity": 0.5, "test_accuracy": 0.45, "collapsed": True}]},
    }
    figures = headline(results)
    assert figures["compared_round"] == 1
    assert figures["imp_minus_random_pruning"] is None
    lines = describe_headline(figures)
    assert any("50.0% of prunable weights (20.0% without the embedding): not comparable (random_pruning collapsed" in
               line for line in lines)
    table = round_table(results)
    assert "sparsity % (all / w/o embedding)" in table and "| 50.0 / 20.0 |" in table and "45.00 (collapsed)" in table


def test_plot_without_a_test_split_plots_validation(tmp_path):
    import warnings

    results = {"best_round": 1, "rounds": [{"round": 0, "sparsity": 0.0, "eval_accuracy": 0.8},
                                           {"round": 1, "sparsity": 0.2, "eval_accuracy": 0.82, "collapsed": True}]}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # matplotlib warned of an empty legend before
        png = plot_accuracy_vs_sparsity(results, tmp_path / "plot.png")
    assert png.stat().st_size > 1000


def test_plot_of_several_seeds(tmp_path):
    other = {**RESULTS, "rounds": [{**r, "test_accuracy": r["test_accuracy"] + 0.02} for r in RESULTS["rounds"]]}
    png = plot_accuracy_vs_sparsity([RESULTS, other], tmp_path / "seeds.png")
    assert png.stat().st_size > 1000


def _write(folder, results):
    import json

    folder.mkdir(parents=True)
    (folder / "lth_results.json").write_text(json.dumps(results))
    return str(folder)


def test_comparison_of_several_experiments(tmp_path, capsys):
    shorter = {"rounds": RESULTS["rounds"][:1]}
    table = comparison_table({"init": RESULTS, "lr": shorter}).splitlines()
    assert table[0] == "| round | sparsity % | init test acc % | lr test acc % |"
    assert table[2] == "| 0 | 0.0 | 79.00 | 79.00 |" and table[3] == "| 1 | 20.0 | 80.00 | – |"
    a, b = _write(tmp_path / "a", RESULTS), _write(tmp_path / "b", shorter)
    assert main([a, b, "--labels", "init,lr", "--plot", str(tmp_path / "cmp.png")]) == 0
    assert "| 1 | 20.0 | 80.00 | – |" in capsys.readouterr().out
    assert (tmp_path / "cmp.png").read_bytes()[:4] == b"\x89PNG"
    assert main([a, b]) == 2 and "give --plot" in capsys.readouterr().err
    assert main([a, b, "--labels", "x", "--plot", str(tmp_path / "c.png")]) == 2
    assert "1 labels for 2 folders" in capsys.readouterr().err


def test_seeds_mean_and_std(tmp_path, capsys):
    other = {**RESULTS, "rounds": [{**r, "test_accuracy": r["test_accuracy"] + 0.02} for r in RESULTS["rounds"]],
             "controls": {}}
    table = seeds_table([RESULTS, other]).splitlines()
    assert table[0].startswith("| round | sparsity % | runs | IMP test acc % (mean ± std) | random pruning")
    assert table[2] == "| 0 | 0.0 | 2 | 80.00 ± 1.41 | – |"
    assert table[3] == "| 1 | 20.0 | 2 | 81.00 ± 1.41 | 75.00 ± 0.00 (n=1) |"
    a, b = _write(tmp_path / "s1", RESULTS), _write(tmp_path / "s2", other)
    assert main([a, b, "--seeds", "--plot", str(tmp_path / "seeds.png")]) == 0
    assert "80.00 ± 1.41" in capsys.readouterr().out


def test_seeds_headline_pairs_imp_and_control_within_each_seed(tmp_path, capsys):
    other = {
        "best_round": 1,
        "rounds": [{**r, "test_accuracy": r["test_accuracy"] + 0.02} for r in RESULTS["rounds"]],
        "controls": {"random_pruning": [{"round": 1, "sparsity": 0.2, "test_accuracy": 0.81}]},
    }
    summary = seeds_headline([RESULTS, other], near=0.2)
    mean, std, n = summary["imp_minus_random_pruning"]  # 0.80 - 0.75 and 0.82 - 0.81
    assert (mean, n) == (pytest.approx(0.03), 2) and std == pytest.approx(0.0283, abs=1e-4)
    assert summary["dense_accuracy"] == (pytest.approx(0.80), pytest.approx(0.01414, abs=1e-4), 2)
    assert summary["compared_sparsity"][0] == 0.2
    a, b = _write(tmp_path / "s1", RESULTS), _write(tmp_path / "s2", other)
    assert main([a, b, "--seeds", "--plot", str(tmp_path / "seeds.png")]) == 0
    out = capsys.readouterr().out
    assert "dense accuracy: 80.00 ± 1.41 % (n=2)" in out and "imp minus random pruning: 3.00 ± 2.83 points (n=2)" in out


def test_validation_plot_does_not_overwrite_the_test_plot(tmp_path, capsys):
    folder = _write(tmp_path / "run", RESULTS)
    assert main([folder]) == 0
    published = (tmp_path / "run" / "accuracy_vs_sparsity.png").read_bytes()
    assert main([folder, "--split", "eval"]) == 0
    assert (tmp_path / "run" / "accuracy_vs_sparsity.png").read_bytes() == published
    assert (tmp_path / "run" / "accuracy_vs_sparsity_eval.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_the_report_command_starts_without_torch_transformers_or_matplotlib(capsys):
    """`hf-lth-report --help` took 14 s when importing hf_lth imported everything; the package is lazy now."""
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, hf_lth.report.cli\n"
            "print(sorted({m.split('.')[0] for m in sys.modules} & {'torch', 'transformers', 'matplotlib'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0 and done.stdout.strip() == "[]", done.stdout + done.stderr
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0 and "output_dir" in capsys.readouterr().out


def _published_run(tmp_path, val_correct: dict[int, float], test_correct: dict[int, float]):
    """A published run (records + predictions/round_XX.safetensors) whose rounds get the given shares right."""
    import json

    import numpy as np

    from hf_lth.storage.predictions import SplitPredictions, save_predictions

    rng = np.random.default_rng(0)
    rounds, labels = [], {"eval": rng.integers(0, 2, 2000), "test": rng.integers(0, 2, 2000)}
    for index in val_correct:
        splits = {}
        for split, share in (("eval", val_correct[index]), ("test", test_correct[index])):
            right = rng.permutation(labels[split].size) < share * labels[split].size
            predicted = np.where(right, labels[split], 1 - labels[split])
            splits[split] = SplitPredictions(np.eye(2)[predicted].astype(np.float32), labels[split])
        (tmp_path / "predictions").mkdir(exist_ok=True)
        save_predictions(tmp_path / "predictions" / f"round_{index:02d}.safetensors", splits)
        rounds.append({"round": index, "sparsity": 1 - 0.8 ** index, "eval_accuracy": val_correct[index],
                       "test_accuracy": test_correct[index]})
    results = {"best_round": 1, "selection_metric": "eval_accuracy", "rounds": rounds, "controls": {}, "branch": None}
    (tmp_path / "lth_results.json").write_text(json.dumps(results))
    return results


def test_matching_reads_validation_never_test(tmp_path):
    # round 1 matches dense on test only, round 2 on validation only: the verdict follows validation.
    results = _published_run(tmp_path, {0: 0.80, 1: 0.74, 2: 0.795}, {0: 0.80, 1: 0.81, 2: 0.70})
    figures = headline(results, folder=tmp_path)
    assert figures["sparsest_matching_round"] == 2 and figures["sparsest_matching_or_exceeding"] is None
    assert figures["matching_tolerance"] == pytest.approx((0.8 * 0.2 / 2000) ** 0.5, rel=0.1)
    lines = describe_headline(figures)
    assert any(line.startswith("dense model: 80.00 [") for line in lines)
    assert any("matches dense" in line and "round 2, 36.0%" in line for line in lines)
    table = round_table(results, tmp_path)
    assert "test acc % [95% CI]" in table and "| 81.00 [" in table


def test_report_has_a_title_with_the_settings_and_says_when_no_control_ran(tmp_path, capsys):
    _published_run(tmp_path, {0: 0.8, 1: 0.8}, {0: 0.8, 1: 0.8})
    assert main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# Lottery tickets: model on data")
    assert "No control was run" in out and "Ties between rounds go to the sparser one" in out


def test_top_axis_ticks_sit_above_the_matching_bottom_sparsity(tmp_path, monkeypatch):
    """The top axis (sparsity without the embedding) read back through matplotlib's transforms: each tick sits
    above the overall sparsity that has it, also with the axis padded beyond the first and last rounds."""
    import numpy as np

    import hf_lth.report.plots as plots

    overall = [100 * (1 - 0.8**k) for k in range(11)]
    without = [100 * (1 - 0.92**k) for k in range(11)]
    rounds = [{"round": k, "sparsity": a / 100, "sparsity_without_embedding": b / 100, "test_accuracy": 0.7}
              for k, (a, b) in enumerate(zip(overall, without))]
    figures = []
    save = plots.save_figure

    def keep(fig, ax, *args, **kwargs):
        figures.append((fig, ax))
        return save(fig, ax, *args, **kwargs)

    monkeypatch.setattr(plots, "save_figure", keep)
    plot_accuracy_vs_sparsity({"rounds": rounds, "best_round": 3}, tmp_path / "plot.png")
    fig, ax = figures[0]
    fig.canvas.draw()
    (top,) = ax.child_axes
    assert ax.get_xlim()[0] < 0 < overall[-1] < ax.get_xlim()[1]  # padded on both sides
    ticks = list(top.get_xticks())
    assert ticks[0] == 0 and ticks[-1] == 50
    for tick in ticks:
        x_display = top.get_xaxis_transform().transform([[tick, 1.0]])[0][0]
        under = ax.transData.inverted().transform([[x_display, 0.0]])[0][0]
        assert under == pytest.approx(float(np.interp(tick, without, overall)), abs=0.05), tick


def test_every_report_flag_has_help(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "--split {eval,test} the split whose accuracy the plot and the headline show" in text
