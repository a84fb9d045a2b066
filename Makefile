# sgtheory: `make test` runs the test suite, `make all` rebuilds every figure (PROFILE=quick|paper) and the report.
# Sweeps run on EXECUTOR=processes (default; WORKERS= processes, default the core count), inline or dask (a local
# cluster, or the scheduler at SCHEDULER=ADDRESS|FILE, e.g. from `sgtheory cluster`).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SG := $(BIN)/sgtheory
PROFILE ?= quick
RESULTS := results/$(PROFILE)
FIGDIR := $(if $(filter quick,$(PROFILE)),figures,figures/$(PROFILE))
EXECUTOR ?= processes
WORKERS ?=
SCHEDULER ?=
RUN := --executor $(EXECUTOR) $(if $(WORKERS),--workers $(WORKERS)) $(if $(SCHEDULER),--scheduler $(SCHEDULER))

FLOSSING_FIGURES := r1-reconcile r1 r2 r2-schedules lif-r1 lif-r2 lif-success gf-tanh gf-success model-selection
SG_THEORY_FIGURES := theory sigmoid-bias not-gradients spike-match conv-snn
ROBUSTNESS_FIGURES := randman sg-vs-true shape-robustness scale activity
BALANCED_FIGURES := balanced balanced-mechanism balanced-activity balanced-learning
RATE_SPECTRA_FIGURES := rate-extensivity rate-lambda-max rate-dimension rate-convergence rate-noise rate-discrete
SPARSEPROP_FIGURES := sparseprop sparseprop-train

.PHONY: setup test lint all robustness train-baseline r2-schedule-lr r2-schedule-k16 $(FLOSSING_FIGURES) $(SG_THEORY_FIGURES) $(ROBUSTNESS_FIGURES) $(BALANCED_FIGURES) $(RATE_SPECTRA_FIGURES) $(SPARSEPROP_FIGURES) bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet -e ".[test]"
	touch $@

lint: setup
	$(BIN)/ruff check .

test: setup lint
	$(BIN)/python -m pytest

all: train-baseline $(FLOSSING_FIGURES) $(SG_THEORY_FIGURES) $(ROBUSTNESS_FIGURES) $(BALANCED_FIGURES) \
	$(RATE_SPECTRA_FIGURES) $(SPARSEPROP_FIGURES)
	$(SG) report $(FIGDIR)

# The Zenke & Vogels figures alone (e.g. `make robustness PROFILE=medium`, about 1.5 h on 2 cores) and the report.
robustness: $(ROBUSTNESS_FIGURES)
	$(SG) report $(FIGDIR)

# Each figure: run the experiment (resumes finished runs), then draw it.
train-baseline: setup
	$(SG) train $(RUN) --config configs/train_baseline.yaml --profile $(PROFILE) --out $(RESULTS)/train_baseline.parquet
	$(SG) plot training-curves $(RESULTS)/train_baseline.parquet --out $(FIGDIR)/train_baseline.png

r1-reconcile: setup
	$(SG) lyap $(RUN) --config configs/r1_reconcile.yaml --profile $(PROFILE) --out $(RESULTS)/r1_reconcile.parquet
	$(SG) plot reconcile $(RESULTS)/r1_reconcile.parquet --out $(FIGDIR)/r1_reconcile.png

r1: setup
	$(SG) floss $(RUN) --config configs/r1_flossing.yaml --profile $(PROFILE) --out $(RESULTS)/r1_flossing.parquet
	$(SG) plot r1 $(RESULTS)/r1_flossing.parquet --out $(FIGDIR)/r1_flossing.png

r2: setup
	$(SG) train $(RUN) --config configs/r2_flossing.yaml --profile $(PROFILE) --out $(RESULTS)/r2_flossing.parquet
	$(SG) plot r2 $(RESULTS)/r2_flossing.parquet --out $(FIGDIR)/r2_flossing.png

# R2 at d = 18 with two other flossing schedules (a higher flossing rate; k = 16), next to the reference one. The two
# schedule runs are their own targets, so that `make -j2` runs them beside r2 rather than after it. The k = 16 one
# follows r2: where a profile's reference schedule is k = 16 (quick), its runs are r2's and are copied, not recomputed.
r2-schedule-lr: setup
	$(SG) train $(RUN) --config configs/r2_flossing.yaml --profile $(PROFILE) --set floss=adaptive --set delay=18 \
		--set floss_lr=0.01 --out $(RESULTS)/r2_schedule_lr.parquet
r2-schedule-k16: r2
	$(SG) train $(RUN) --config configs/r2_flossing.yaml --profile $(PROFILE) --set floss=adaptive --set delay=18 \
		--set nle=16 --out $(RESULTS)/r2_schedule_k16.parquet
r2-schedules: r2 r2-schedule-lr r2-schedule-k16
	$(SG) plot r2 $(RESULTS)/r2_flossing.parquet $(RESULTS)/r2_schedule_lr.parquet $(RESULTS)/r2_schedule_k16.parquet \
		--out $(FIGDIR)/r2_schedules.png

lif-r1: setup
	$(SG) floss $(RUN) --config configs/lif_r1_flossing.yaml --profile $(PROFILE) --out $(RESULTS)/lif_r1_flossing.parquet
	$(SG) plot r1 $(RESULTS)/lif_r1_flossing.parquet --out $(FIGDIR)/lif_r1_flossing.png

lif-r2: setup
	$(SG) train $(RUN) --config configs/lif_r2_flossing.yaml --profile $(PROFILE) --out $(RESULTS)/lif_r2_flossing.parquet
	$(SG) plot r2 $(RESULTS)/lif_r2_flossing.parquet --out $(FIGDIR)/lif_r2_flossing.png

# The LIF analog of the tanh success figure: faster neurons (tau_mem 2 ms, tau_syn 1 ms) on the delayed copy task.
lif-success: setup
	$(SG) train $(RUN) --config configs/lif_success_copy.yaml --profile $(PROFILE) --out $(RESULTS)/lif_success_copy.parquet
	$(SG) plot gf-success $(RESULTS)/lif_success_copy.parquet --out $(FIGDIR)/lif_success.png

gf-tanh: setup
	$(SG) floss $(RUN) --config configs/gf_tanh.yaml --profile $(PROFILE) --out $(RESULTS)/gf_tanh.parquet
	$(SG) plot tanh-flossing $(RESULTS)/gf_tanh.parquet --out $(FIGDIR)/gf_tanh.png

# Model selection for the binary R2: candidate readings, each scored against every digitized number of R1 and R2.
# (a) flossing phases whenever the exponents drift, not capped at 2; (b) the flossed Jacobian's surrogate wider than
# the training one (slope 0.5: flossing k = 1 at slope 0.5 leaves the forward network's damage spreading as it was);
# (c) k = 16 and k = 1 flossed exponents; (d) gain 1 (the literal reconstruction), whose unflossed gradients match
# the paper's within 2-4x. The reference reading's R1 runs are those of `make r1`. It follows the targets whose runs
# some of its readings repeat (paper profile: train-baseline, r2, r2-schedule-k16), so that those are copied, not
# recomputed (tests/test_makefile.py).
SELECT = $(SG) train $(RUN) --config configs/r2_selection.yaml --profile $(PROFILE)
SELECTION := $(RESULTS)/selection
model-selection: r1 r2-schedule-k16 train-baseline
	$(SELECT) --out $(SELECTION)_reference.parquet
	$(SELECT) --set floss=adaptive --set floss_slope=0.5 --set nle=1 --out $(SELECTION)_wide_k1.parquet
	$(SELECT) --set floss=adaptive --set nle=16 --out $(SELECTION)_k16.parquet
	$(SELECT) --set floss=adaptive --set nle=1 --out $(SELECTION)_k1.parquet
	$(SELECT) --set gain=1.0 --out $(SELECTION)_gain1.parquet
	$(SG) floss $(RUN) --config configs/r1_flossing.yaml --profile $(PROFILE) --set gain=1.0 \
		--out $(SELECTION)_gain1_r1.parquet
	$(SELECT) --set floss=adaptive --set floss_slope=0.5 --out $(SELECTION)_wide.parquet
	$(SELECT) --set floss=adaptive --set floss_phases=30 --out $(SELECTION)_uncapped.parquet
	$(SG) plot model-selection $(RESULTS)/r1_flossing.parquet \
		$(foreach r,reference wide_k1 k16 k1 gain1 gain1_r1 wide uncapped,$(SELECTION)_$(r).parquet) \
		--out $(FIGDIR)/model_selection.png

# Gradient flossing of the tanh RNN (NeurIPS 2023): success rate and epochs to success vs delay on the delayed copy and
# XOR tasks (none, pre, pre+inter), and the tanh version of R2 on the XOR table.
gf-success: setup
	$(SG) train $(RUN) --config configs/gf_success_xor.yaml --profile $(PROFILE) --out $(RESULTS)/gf_success_xor.parquet
	$(SG) train $(RUN) --config configs/gf_success_copy.yaml --profile $(PROFILE) --out $(RESULTS)/gf_success_copy.parquet
	$(SG) plot gf-success $(RESULTS)/gf_success_xor.parquet $(RESULTS)/gf_success_copy.parquet \
		--out $(FIGDIR)/gf_success.png
	$(SG) plot r2 $(RESULTS)/gf_success_xor.parquet --out $(FIGDIR)/gf_r2_xor.png
	$(SG) plot r2 $(RESULTS)/gf_success_copy.parquet --out $(FIGDIR)/gf_r2_copy.png

# Gygax & Zenke: stochastic neurons, SGs as derivatives of expected outputs (theory overview).
theory: setup
	$(SG) stochastic-neuron $(RUN) --config configs/stochastic_neuron.yaml --profile $(PROFILE) \
		--out $(RESULTS)/stochastic_neuron.parquet
	$(SG) plot theory $(RESULTS)/stochastic_neuron.parquet --out $(FIGDIR)/stochastic_neuron.png

# Gygax & Zenke: SG bias in the sigmoid network (scan along w and the (v1, v2) landscapes).
sigmoid-bias: setup
	$(SG) sigmoid-bias $(RUN) --config configs/sigmoid_bias_scan.yaml --profile $(PROFILE) --out $(RESULTS)/sigmoid_bias_scan.parquet
	$(SG) sigmoid-bias $(RUN) --config configs/sigmoid_bias_landscape.yaml --profile $(PROFILE) \
		--out $(RESULTS)/sigmoid_bias_landscape.parquet
	$(SG) plot sigmoid-bias $(RESULTS)/sigmoid_bias_scan.parquet $(RESULTS)/sigmoid_bias_landscape.parquet \
		--out $(FIGDIR)/sigmoid_bias.png

# Gygax & Zenke: SGs are not gradients (closed loops; the sigmoid network and the toolkit's recurrent networks).
not-gradients: setup
	$(SG) conservative-check $(RUN) --config configs/not_gradients.yaml --profile $(PROFILE) --out $(RESULTS)/not_gradients.parquet
	$(SG) conservative-check $(RUN) --config configs/not_gradients_rnn.yaml --profile $(PROFILE) \
		--out $(RESULTS)/not_gradients_rnn.parquet
	$(SG) plot not-gradients $(RESULTS)/not_gradients.parquet $(RESULTS)/not_gradients_rnn.parquet \
		--out $(FIGDIR)/not_gradients.png

# Gygax & Zenke: spike-train matching (rule-trained deterministic, stochastic, MultilayerSpiker; and BPTT).
# TARGET_IMAGE=path.png trains on that image instead of the generated target (tables and figures get "_image").
TARGET_IMAGE ?=
SM := spike_match$(if $(TARGET_IMAGE),_image)
SM_TARGET := $(if $(TARGET_IMAGE),--set target_image=$(TARGET_IMAGE))
spike-match: setup
	$(SG) spike-match $(RUN) --config configs/spike_match.yaml --profile $(PROFILE) $(SM_TARGET) --out $(RESULTS)/$(SM).parquet
	$(SG) spike-match $(RUN) --config configs/spike_match_bptt.yaml --profile $(PROFILE) $(SM_TARGET) \
		--out $(RESULTS)/$(SM)_bptt.parquet
	$(SG) plot spike-match $(RESULTS)/$(SM).parquet $(RESULTS)/$(SM)_bptt.parquet --out $(FIGDIR)/$(SM).png
	$(SG) plot spike-match-stats $(RESULTS)/$(SM).parquet $(RESULTS)/$(SM)_bptt.parquet --out $(FIGDIR)/$(SM)_stats.png

# Gygax & Zenke: deep conv SNNs, deterministic vs stochastic (randman offline; SHD: `sgtheory classify --config
# configs/conv_snn.yaml --profile shd --data-dir DIR`).
conv-snn: setup
	$(SG) classify $(RUN) --config configs/conv_snn.yaml --profile $(PROFILE) --out $(RESULTS)/conv_snn.parquet
	$(SG) plot conv-snn $(RESULTS)/conv_snn.parquet --out $(FIGDIR)/conv_snn.png

# Zenke & Vogels: robustness of SG learning (randman illustration, SG vs true gradient, surrogate shape, scale,
# activity). `sgtheory classify` trains the LIF classifiers; each figure combines its tables.
randman: setup
	$(SG) randman $(RUN) --config configs/randman.yaml --profile $(PROFILE) --out $(RESULTS)/randman.parquet
	$(SG) plot randman $(RESULTS)/randman.parquet --out $(FIGDIR)/randman.png

sg-vs-true: setup
	$(SG) classify $(RUN) --config configs/sg_vs_true.yaml --profile $(PROFILE) --out $(RESULTS)/sg_vs_true.parquet
	$(SG) plot sg-vs-true $(RESULTS)/sg_vs_true.parquet --out $(FIGDIR)/sg_vs_true.png

shape-robustness: sg-vs-true  # the paper profile's sg-vs-true runs include some of its runs
	$(SG) classify $(RUN) --config configs/shapes.yaml --profile $(PROFILE) --out $(RESULTS)/shapes.parquet
	$(SG) classify $(RUN) --config configs/shapes_constant.yaml --profile $(PROFILE) --out $(RESULTS)/shapes_constant.parquet
	$(SG) plot shape-robustness $(RESULTS)/shapes.parquet $(RESULTS)/shapes_constant.parquet \
		--out $(FIGDIR)/shape_robustness.png

scale: setup
	$(SG) classify $(RUN) --config configs/scale.yaml --profile $(PROFILE) --out $(RESULTS)/scale.parquet
	$(SG) classify $(RUN) --config configs/scale_recurrent.yaml --profile $(PROFILE) --out $(RESULTS)/scale_recurrent.parquet
	$(SG) plot scale $(RESULTS)/scale.parquet $(RESULTS)/scale_recurrent.parquet --out $(FIGDIR)/scale.png

activity: setup
	$(SG) classify $(RUN) --config configs/activity.yaml --profile $(PROFILE) --out $(RESULTS)/activity.parquet
	$(SG) plot activity $(RESULTS)/activity.parquet --out $(FIGDIR)/activity.png

# Engelken et al. 2022 (balanced rate networks): λ1 vs I1 for common and independent input, simulations and DMFT
# (Fig. 2), I1_crit vs N, K and g (Fig. 3A-C), the mechanism of slow common input (Fig. 4), activity at three
# amplitudes (Fig. 9 independent, Fig. 8 common).
BAL := $(SG) balanced $(RUN) --profile $(PROFILE)
BAL_DMFT := $(BAL) --config configs/balanced_dmft.yaml
balanced: setup
	$(BAL) --config configs/balanced.yaml --out $(RESULTS)/balanced_sim.parquet
	$(BAL_DMFT) --out $(RESULTS)/balanced_dmft_common.parquet
	$(BAL_DMFT) --set input_type=independent --set "I1=[0, 1, 2, 3, 5]" --out $(RESULTS)/balanced_dmft_independent.parquet
	$(BAL_DMFT) --set N=5000 --set "I1=[0, 30, 50, 70]" --out $(RESULTS)/balanced_dmft_5000.parquet
	$(SG) plot balanced-lambda $(RESULTS)/balanced_sim.parquet $(RESULTS)/balanced_dmft_common.parquet \
		$(RESULTS)/balanced_dmft_independent.parquet --out $(FIGDIR)/balanced_lambda.png
	$(BAL) --config configs/balanced_k.yaml --out $(RESULTS)/balanced_k_sim.parquet
	$(BAL) --config configs/balanced_k_dmft.yaml --out $(RESULTS)/balanced_k_dmft.parquet
	$(BAL) --config configs/balanced_gain.yaml --out $(RESULTS)/balanced_gain_sim.parquet
	$(BAL) --config configs/balanced_gain_dmft.yaml --out $(RESULTS)/balanced_gain_dmft.parquet
	$(BAL) --config configs/balanced_gain_dmft_independent.yaml --out $(RESULTS)/balanced_gain_dmft_independent.parquet
	$(SG) plot balanced-crit $(RESULTS)/balanced_sim.parquet $(RESULTS)/balanced_dmft_common.parquet \
		$(RESULTS)/balanced_dmft_5000.parquet $(RESULTS)/balanced_dmft_independent.parquet \
		$(RESULTS)/balanced_k_sim.parquet $(RESULTS)/balanced_k_dmft.parquet $(RESULTS)/balanced_gain_sim.parquet \
		$(RESULTS)/balanced_gain_dmft.parquet $(RESULTS)/balanced_gain_dmft_independent.parquet \
		--out $(FIGDIR)/balanced_crit.png

balanced-mechanism: balanced
	$(BAL) --config configs/balanced_mechanism.yaml --out $(RESULTS)/balanced_mechanism.parquet
	$(SG) plot balanced-mechanism $(RESULTS)/balanced_mechanism.parquet $(RESULTS)/balanced_dmft_common.parquet \
		--out $(FIGDIR)/balanced_mechanism.png

BAL_ACT := $(BAL) --config configs/balanced_activity.yaml
balanced-activity: setup
	$(BAL_ACT) --out $(RESULTS)/balanced_activity_independent.parquet
	$(BAL_ACT) --set method=dmft --seeds 0 --out $(RESULTS)/balanced_activity_independent_dmft.parquet
	$(SG) plot balanced-activity $(RESULTS)/balanced_activity_independent.parquet \
		$(RESULTS)/balanced_activity_independent_dmft.parquet --out $(FIGDIR)/balanced_activity_independent.png
	$(BAL_ACT) --set input_type=common --set "I1=[0, 10, 30]" --out $(RESULTS)/balanced_activity_common.parquet
	$(BAL_ACT) --set input_type=common --set "I1=[0, 10, 30]" --set method=dmft --seeds 0 \
		--out $(RESULTS)/balanced_activity_common_dmft.parquet
	$(SG) plot balanced-activity $(RESULTS)/balanced_activity_common.parquet \
		$(RESULTS)/balanced_activity_common_dmft.parquet --out $(FIGDIR)/balanced_activity_common.png

# Fig. 7: full-FORCE/RLS teacher–student learning vs input amplitude and type (decision D7)
balanced-learning: setup
	$(SG) balanced-learning $(RUN) --profile $(PROFILE) --config configs/balanced_learning.yaml \
		--out $(RESULTS)/balanced_learning.parquet
	$(SG) plot balanced-learning $(RESULTS)/balanced_learning.parquet --out $(FIGDIR)/balanced_learning.png

# Engelken, Wolf & Abbott 2023 (Lyapunov spectra of chaotic rate networks): one `rate-spectrum` table per figure.
RATE := $(SG) rate-spectrum $(RUN) --profile $(PROFILE)
rate-extensivity: setup
	$(RATE) --config configs/rate_extensivity.yaml --out $(RESULTS)/rate_extensivity.parquet
	$(SG) plot rate-extensivity $(RESULTS)/rate_extensivity.parquet --out $(FIGDIR)/rate_extensivity.png

rate-lambda-max: setup
	$(RATE) --config configs/rate_lambda_max.yaml --out $(RESULTS)/rate_lambda_max.parquet
	$(SG) plot rate-lambda-max $(RESULTS)/rate_lambda_max.parquet --out $(FIGDIR)/rate_lambda_max.png

rate-dimension: setup
	$(RATE) --config configs/rate_dimension.yaml --out $(RESULTS)/rate_dimension.parquet
	$(SG) plot rate-dimension $(RESULTS)/rate_dimension.parquet --out $(FIGDIR)/rate_dimension.png

rate-convergence: setup
	$(RATE) --config configs/rate_convergence.yaml --out $(RESULTS)/rate_convergence.parquet
	$(SG) plot rate-convergence $(RESULTS)/rate_convergence.parquet --out $(FIGDIR)/rate_convergence.png

rate-noise: setup
	$(RATE) --config configs/rate_noise.yaml --out $(RESULTS)/rate_noise.parquet
	$(SG) plot rate-noise $(RESULTS)/rate_noise.parquet --out $(FIGDIR)/rate_noise.png

rate-discrete: setup
	$(RATE) --config configs/rate_discrete.yaml --out $(RESULTS)/rate_discrete.parquet
	$(SG) plot rate-discrete $(RESULTS)/rate_discrete.parquet --out $(FIGDIR)/rate_discrete.png

# Engelken 2023 (SparseProp): exactness, raster, CPU time per spike vs N and K, speed-up (quick: about 1 min of CPU)
SP := $(SG) sparseprop $(RUN) --profile $(PROFILE)
SP_TABLES := sparseprop_exactness sparseprop_ptc sparseprop_scaling sparseprop_large sparseprop_k sparseprop_raster
sparseprop: setup
	$(SP) --config configs/sparseprop_exactness.yaml --out $(RESULTS)/sparseprop_exactness.parquet
	$(SP) --config configs/sparseprop_ptc.yaml --out $(RESULTS)/sparseprop_ptc.parquet
	$(SP) --config configs/sparseprop.yaml --out $(RESULTS)/sparseprop_scaling.parquet
	$(SP) --config configs/sparseprop_large.yaml --out $(RESULTS)/sparseprop_large.parquet
	$(SP) --config configs/sparseprop_k.yaml --out $(RESULTS)/sparseprop_k.parquet
	$(SP) --config configs/sparseprop_raster.yaml --out $(RESULTS)/sparseprop_raster.parquet
	$(SG) plot sparseprop $(foreach t,$(SP_TABLES),$(RESULTS)/$(t).parquet) --out $(FIGDIR)/sparseprop.png

# SparseProp training: Adam with the exact adjoint gradient steers the population rate; gradient check, cost per spike
sparseprop-train: setup
	$(SP) --config configs/sparseprop_train.yaml --out $(RESULTS)/sparseprop_train.parquet
	$(SP) --config configs/sparseprop_train_currents.yaml --out $(RESULTS)/sparseprop_train_currents.parquet
	$(SG) plot sparseprop-train $(RESULTS)/sparseprop_train.parquet $(RESULTS)/sparseprop_train_currents.parquet \
		--out $(FIGDIR)/sparseprop_train.png

bench: setup
	$(BIN)/python benchmarks/bench_train.py --epochs 8 --rounds 3 --out benchmarks/out/bench_train.json
	$(BIN)/python benchmarks/bench_lyapunov.py --out benchmarks/out/bench_lyapunov.json
	$(BIN)/python benchmarks/bench_dmft.py --out benchmarks/out/bench_dmft.json
	$(BIN)/python benchmarks/bench_spike_match.py --out benchmarks/out/bench_spike_match.json
	$(BIN)/python benchmarks/bench_sweep.py --out benchmarks/out/bench_sweep.json
	$(BIN)/python benchmarks/bench_cli_startup.py --out benchmarks/out/bench_cli_startup.json
	$(BIN)/python benchmarks/bench_rate_spectrum.py --out benchmarks/out/bench_rate_spectrum.json
	$(BIN)/python benchmarks/bench_sparseprop.py --out benchmarks/out/bench_sparseprop.json
	$(BIN)/python benchmarks/bench_conv_snn.py --threads 1 --repeats 1 --out benchmarks/out/bench_conv_snn.json
	$(BIN)/pip install --quiet -e ".[bench]"
	$(BIN)/pip install --quiet --no-deps "norse==1.1.0"  # its torchvision requirement would replace the pinned torch
	$(BIN)/python benchmarks/bench_classify.py --out benchmarks/out/bench_classify.json
	$(BIN)/python benchmarks/bench_recurrent_classifier.py --out benchmarks/out/bench_recurrent_classifier.json

clean:
	rm -rf results figures/*.pdf figures/paper benchmarks/out
