"""Figures of stochastic vs deterministic spike-train matching (Gygax & Zenke 2025; sgtheory spec §4.6).

- ``spike-match``: input and target rasters; output / hidden / input rasters before and after training for
  the deterministic (superspike) and stochastic networks; the output after training of every condition.
- ``spike-match-stats``: L2 and van Rossum distance, per-bin trial variability and population rates vs
  epoch; hidden-layer ISI, CV and firing-rate histograms before and after training.

Both read a ``spike-match`` table (rows kind = epoch and kind = spike). Conditions are a method and a
learning rule; curves are means over seeds, rasters and histograms show the first seed, trial 0.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sgtheory.figures.style import new_figure, panel_letter, verdict

DET, STOCH = "#008ca5", "#EBB400"  # the paper's colours
COLOURS = {("superspike", "rule"): DET, ("stochastic", "rule"): STOCH, ("multilayerspiker", "rule"): "#7570b3",
           ("superspike", "bptt"): "#00525f", ("stochastic", "bptt"): "#9a7600"}
# Hidden-layer statistics after training, trial 0, of the authors' notebooks (epoch 1000; sgtheory spec §4.6).
HIDDEN_REFERENCE = {"superspike": {"isi": 15.0, "cv": 1.05, "rate": 25.0},
                    "stochastic": {"isi": 6.0, "cv": 1.45, "rate": 55.0}}
# Stored values of the authors' runs with the Radcliffe Camera target (seed 17, 1500 epochs; sgtheory spec §8).
REFERENCE = {"superspike": {"van_rossum": 0.11, "l2": 20.5, "rate_hidden": 25.0, "rate_output": 267.0},
             "stochastic": {"van_rossum": 0.15, "l2": 23.5, "rate_hidden": 55.0, "rate_output": 270.0}}
LABELS = {"superspike": "deterministic", "stochastic": "stochastic", "multilayerspiker": "MultilayerSpiker"}
FINAL_FRACTION = 0.1  # "final" measures: mean over the last 10 % of epochs


def conditions(table: pd.DataFrame) -> list[tuple[str, str]]:
    present = set(map(tuple, table[["method", "learning"]].drop_duplicates().to_numpy()))
    return [c for c in COLOURS if c in present]


def label(condition: tuple[str, str]) -> str:
    method, learning = condition
    return LABELS[method] + (" (BPTT)" if learning == "bptt" else "")


def _rows(table: pd.DataFrame, condition, kind: str) -> pd.DataFrame:
    method, learning = condition
    return table[(table["method"] == method) & (table["learning"] == learning) & (table["kind"] == kind)]


def raster(table: pd.DataFrame, condition, layer: str, epoch: str | int, n_neurons: int, T: int) -> np.ndarray:
    """(neurons, time) 0/1 array of the first seed's trial-0 raster; epoch 'first' / 'last' or a number."""
    rows = _rows(table, condition, "spike")
    rows = rows[(rows["seed"] == rows["seed"].min()) & (rows["layer"] == layer) & (rows["trial"] == 0)]
    if epoch in ("first", "last"):
        epoch = rows["epoch"].min() if epoch == "first" else rows["epoch"].max()
    rows = rows[rows["epoch"] == epoch]
    image = np.zeros((n_neurons, T))
    dt = rows["dt"].iloc[0] if len(rows) else 1.0
    image[rows["neuron"].astype(int), np.round(rows["time"] / dt).astype(int)] = 1
    return image


def _sizes(table: pd.DataFrame) -> dict[str, tuple[int, int]]:
    spikes = table[table["kind"] == "spike"]
    target = spikes[spikes["layer"] == "target"]
    dt = table["dt"].iloc[0]
    T = int(round(target["time"].max() / dt)) + 1
    n_out = int(target["neuron"].max()) + 1
    return {"output": (n_out, T), "target": (n_out, T), "hidden": (int(table["n_hidden"].iloc[0]), T),
            "input": (int(table["n_input"].iloc[0]), T)}


def _show(ax, image: np.ndarray, dt: float, title: str | None = None, ylabel: str | None = None) -> None:
    T = image.shape[1]
    ax.imshow(image, cmap="gray_r", aspect="auto", interpolation="nearest", extent=(0, T * dt, image.shape[0], 0))
    ax.set_xticks([0, 100] if T * dt > 100 else [0])
    ax.tick_params(labelsize=6)
    if title:
        ax.set_title(title, fontsize=7)
    if ylabel:
        ax.set_ylabel(ylabel, fontsize=7)


def spike_match_figure(table: pd.DataFrame):
    conds = conditions(table)
    sizes = _sizes(table)
    dt = table["dt"].iloc[0]
    paper = [c for c in (("superspike", "rule"), ("stochastic", "rule")) if c in conds]
    if not paper:
        raise ValueError("no deterministic or stochastic rule run (method superspike / stochastic) in the table")
    fig = new_figure(2.0 * 2 * len(paper) + 1.6, 7.2)[0]
    fig.clear()
    grid = fig.add_gridspec(5, 2 * len(paper), height_ratios=[1.1, 1, 1, 1, 1.1])
    first = paper[0]
    top = grid[0, :].subgridspec(1, 2, width_ratios=[1, 1])
    ax = fig.add_subplot(top[0, 0])
    _show(ax, raster(table, first, "input", "first", *sizes["input"]), dt, "input (frozen Poisson spikes)", "neuron")
    panel_letter(ax, "A")
    ax = fig.add_subplot(top[0, 1])
    _show(ax, raster(table, first, "target", "first", *sizes["target"]), dt, "target", "neuron")
    for j, condition in enumerate(paper):
        for k, when in enumerate(("first", "last")):
            col = 2 * j + k
            for r, layer in enumerate(("output", "hidden", "input")):
                epoch = "first" if layer == "input" else when
                ax = fig.add_subplot(grid[1 + r, col])
                title = f"{label(condition)}, {'before' if when == 'first' else 'after'}" if r == 0 else None
                _show(ax, raster(table, condition, layer, epoch, *sizes[layer]), dt, title,
                      layer if col == 0 else None)
                if r == 0:
                    ax.title.set_color(COLOURS[condition])
                if r == 0 and col == 0:
                    panel_letter(ax, "B")
    bottom = grid[4, :].subgridspec(1, len(conds))
    for j, condition in enumerate(conds):
        ax = fig.add_subplot(bottom[0, j])
        _show(ax, raster(table, condition, "output", "last", *sizes["output"]), dt, f"{label(condition)}: output after",
              "neuron" if j == 0 else None)
        ax.set_xlabel("time (ms)", fontsize=6)
        ax.title.set_color(COLOURS[condition])
        if j == 0:
            panel_letter(ax, "C")
    fig.suptitle("Spike-train matching: rasters before and after training (neuron vs time)", fontsize=9)
    return fig


def epoch_means(table: pd.DataFrame, condition, measure: str) -> pd.Series:
    rows = _rows(table, condition, "epoch")
    return rows.groupby("epoch")[measure].mean()


def final(table: pd.DataFrame, condition, measure: str) -> float:
    curve = epoch_means(table, condition, measure)
    n = max(1, int(round(FINAL_FRACTION * len(curve))))
    return float(curve.iloc[-n:].mean())


def _histogram_data(image: np.ndarray, dt: float) -> dict[str, np.ndarray]:
    """Pooled ISIs (ms), CV of the ISIs per neuron (≥ 2 ISIs) and rate per neuron (Hz) of a (N, T) raster."""
    isis, cvs = [], []
    for row in image:
        times = np.flatnonzero(row) * dt
        if len(times) > 1:
            d = np.diff(times)
            isis.append(d)
            if len(d) > 1:
                cvs.append(d.std() / d.mean())
    rates = image.sum(axis=1) / (image.shape[1] * dt / 1000)
    return {"isi": np.concatenate(isis) if isis else np.array([]), "cv": np.array(cvs), "rate": rates}


def spike_match_stats_figure(table: pd.DataFrame):
    conds = conditions(table)
    sizes = _sizes(table)
    dt = table["dt"].iloc[0]
    fig, axes = new_figure(8.4, 4.6, ncols=4, nrows=2)
    l2_ax, vr_ax, var_ax, rate_ax = axes[:4]
    for condition in conds:
        colour, name = COLOURS[condition], label(condition)
        style = "--" if condition[1] == "bptt" else "-"
        l2_ax.plot(epoch_means(table, condition, "l2"), style, color=colour, lw=1, label=name)
        vr_ax.plot(epoch_means(table, condition, "van_rossum"), style, color=colour, lw=1)
        if condition[0] != "superspike":
            var_ax.plot(epoch_means(table, condition, "bin_variability_hidden"), style, color=colour, lw=1)
            var_ax.plot(epoch_means(table, condition, "bin_variability_output"), ":", color=colour, lw=1)
        rate_ax.plot(epoch_means(table, condition, "rate_hidden"), style, color=colour, lw=1)
        rate_ax.plot(epoch_means(table, condition, "rate_output"), ":", color=colour, lw=1)
    target = raster(table, conds[0], "target", "first", *sizes["target"])
    rate_ax.axhline(target.sum(axis=1).mean() / (target.shape[1] * dt / 1000), color="k", lw=0.6, ls="--")
    l2_ax.set(xlabel="epoch", ylabel="L2 distance (½ mismatched bins / neuron)", title="L2 distance")
    vr_ax.set(xlabel="epoch", ylabel="van Rossum distance", ylim=(-0.01, 1.0), title="van Rossum distance")
    var_ax.set(xlabel="epoch", ylabel="var/mean per bin over trials", title="trial variability")
    rate_ax.set(xlabel="epoch", ylabel="population rate (Hz)", yscale="log", title="population rates")
    l2_ax.legend(frameon=False, fontsize=6)
    for ax, letter in zip(axes[:4], "ABCD", strict=True):
        panel_letter(ax, letter)
    isi_ax, cv_ax, fr_ax = axes[4:7]
    for condition in [c for c in conds if c[1] == "rule" and c[0] != "multilayerspiker"]:
        colour = COLOURS[condition]
        for when, style, alpha in (("first", "--", 0.6), ("last", "-", 1.0)):
            data = _histogram_data(raster(table, condition, "hidden", when, *sizes["hidden"]), dt)
            text = f"{label(condition)}, {'before' if when == 'first' else 'after'}"
            for ax, key, bins in ((isi_ax, "isi", np.linspace(-1, 201, 50)), (cv_ax, "cv", np.linspace(0, 5, 50)),
                                  (fr_ax, "rate", np.linspace(0, 250, 50))):
                if len(data[key]):
                    ax.hist(data[key], bins=bins, density=True, histtype="step", ls=style, color=colour, alpha=alpha,
                            label=text)
                    ax.plot(data[key].mean(), 0, "v" if when == "last" else "^", color=colour, ms=4, clip_on=False)
    isi_ax.set(xlabel="ISI (ms)", ylabel="density", xlim=(0, 150), title="hidden ISIs")
    cv_ax.set(xlabel="CV of ISI", ylabel="density", xlim=(0, 4), title="hidden CV")
    fr_ax.set(xlabel="firing rate (Hz)", ylabel="density", title="hidden rates")
    isi_ax.legend(frameon=False, fontsize=5)
    axes[7].axis("off")
    axes[7].text(0, 0.9, "C, D: solid = hidden layer (rule),\ndotted = output layer,\ndashed colour = BPTT (hidden),\n"
                 "dashed black = target rate.\nE–G: trial 0 of the first seed;\ntriangles = means.", fontsize=7,
                 va="top", transform=axes[7].transAxes)
    for ax, letter in zip(axes[4:7], "EFG", strict=True):
        panel_letter(ax, letter)
    return fig


def spike_match_report(table: pd.DataFrame) -> str:
    conds = conditions(table)
    images = sorted(set(table["target_image"].fillna("")))
    described = ", ".join(f"`{i}`" if i else "the generated default" for i in images)
    epochs = int(table["epochs"].max())
    lines = [f"Target: {described}; {epochs} epochs; final = mean over the last {int(FINAL_FRACTION * 100)} % of "
             "epochs and over seeds. Reference values are the authors' stored runs with the Radcliffe Camera image "
             "(seed 17, 1500 epochs; sgtheory spec §8), so they compare only with that target.", "",
             "| condition | seeds | van Rossum (ref.) | L2 (ref.) | hidden Hz (ref.) | output Hz (ref.) | "
             "variability hidden / output |", "|---|---|---|---|---|---|---|"]
    finals = {}
    for c in conds:
        finals[c] = {m: final(table, c, m) for m in ("van_rossum", "l2", "rate_hidden", "rate_output",
                                                      "bin_variability_hidden", "bin_variability_output")}
        ref = REFERENCE.get(c[0], {}) if c[1] == "rule" else {}
        cells = [f"{finals[c][m]:.3g}" + (f" ({ref[m]:g})" if m in ref else "")
                 for m in ("van_rossum", "l2", "rate_hidden", "rate_output")]
        seeds = _rows(table, c, "epoch")["seed"].nunique()
        lines.append(f"| {label(c)} | {seeds} | " + " | ".join(cells) +
                     f" | {finals[c]['bin_variability_hidden']:.2f} / {finals[c]['bin_variability_output']:.2f} |")
    det, stoch = ("superspike", "rule"), ("stochastic", "rule")
    sizes, dt = _sizes(table), table["dt"].iloc[0]
    lines += ["", "Hidden layer after training (last epoch, trial 0 of the first seed; reference: the notebooks' epoch "
              "1000):", "", "| condition | mean ISI, ms (ref.) | mean CV of ISI (ref.) | mean rate, Hz (ref.) |",
              "|---|---|---|---|"]
    for c in (det, stoch):
        if c in conds:
            data = _histogram_data(raster(table, c, "hidden", "last", *sizes["hidden"]), dt)
            ref = HIDDEN_REFERENCE[c[0]]
            cells = [f"{data[k].mean():.3g} ({ref[k]:g})" for k in ("isi", "cv", "rate")]
            lines.append(f"| {label(c)} | " + " | ".join(cells) + " |")
    lines.append("")
    for c in (det, stoch):
        if c in conds:
            start = epoch_means(table, c, "van_rossum").iloc[0]
            target = raster(table, c, "target", "first", *_sizes(table)["target"])
            target_rate = target.sum(axis=1).mean() / (target.shape[1] * table["dt"].iloc[0] / 1000)
            ok = finals[c]["van_rossum"] < 0.1 * start and abs(finals[c]["rate_output"] / target_rate - 1) < 0.2
            lines.append(f"- The {label(c)} network reproduces the target (van Rossum distance below 10 % of its "
                         f"start {start:.2f}, output rate within 20 % of the target's {target_rate:.0f} Hz): "
                         f"{verdict(ok)}.")
    if det in conds and stoch in conds:
        keeps = finals[stoch]["bin_variability_hidden"] > 0.3
        lines.append(f"- The stochastic network keeps trial-to-trial variability after training (hidden var/mean "
                     f"{finals[stoch]['bin_variability_hidden']:.2f} > 0.3; paper ≈ 0.59): {verdict(keeps)}.")
        more = finals[stoch]["rate_hidden"] > finals[det]["rate_hidden"]
        lines.append(f"- It fires more in the hidden layer ({finals[stoch]['rate_hidden']:.0f} vs "
                     f"{finals[det]['rate_hidden']:.0f} Hz; paper ≈ 55 vs 25): {verdict(more)}.")
        higher = finals[stoch]["van_rossum"] > finals[det]["van_rossum"] and finals[stoch]["l2"] > finals[det]["l2"]
        lines.append(f"- Its final distances are higher (van Rossum {finals[stoch]['van_rossum']:.3f} vs "
                     f"{finals[det]['van_rossum']:.3f}, L2 {finals[stoch]['l2']:.1f} vs {finals[det]['l2']:.1f}; "
                     f"paper 0.15 vs 0.11, 23.5 vs 20.3): {verdict(higher)}.")
    return "\n".join(lines)
