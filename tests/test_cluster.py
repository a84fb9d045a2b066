"""The SLURM cluster config (the package's slurm.yaml) as dask-jobqueue reads it; nothing is submitted."""

import json

from distributed import Client

from sgtheory.cluster import DEFAULT_CONFIG as CONFIG
from sgtheory.cluster import slurm_cluster


def test_dry_run_prints_the_job_script_of_the_shipped_config_from_any_folder(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # issue 17: the default config path was relative to the repository root
    code, stdout, stderr = run_cli("cluster", "--dry-run")
    assert code == 0, stderr
    code, shown, _ = run_cli("cluster", "--show-config")
    assert code == 0 and shown == CONFIG.read_text()
    for line in ("#SBATCH --cpus-per-task=1", "#SBATCH --mem=4G", "#SBATCH -t 12:00:00",
                 "source .venv/bin/activate", "--nthreads 1"):
        assert line in stdout
    assert "#SBATCH -p" not in stdout and "#SBATCH -A" not in stdout  # the site defaults


def test_site_settings_reach_the_job_script_and_the_scheduler_file_reaches_sweeps(tmp_path):
    config = tmp_path / "site.yaml"
    config.write_text(CONFIG.read_text().replace("queue: null", "queue: short").replace("account: null", "account: lab")
                      .replace("logs/dask", str(tmp_path / "logs")))
    scheduler_file = tmp_path / "scheduler.json"
    with slurm_cluster(config, scheduler_file) as cluster:
        script = cluster.job_script()
        assert "#SBATCH -p short" in script and "#SBATCH -A lab" in script
        assert json.loads(scheduler_file.read_text())["address"] == cluster.scheduler_address
        with Client(scheduler_file=str(scheduler_file), timeout="10s") as client:  # as --scheduler FILE connects
            assert client.scheduler.address == cluster.scheduler_address


def test_unknown_key_is_a_one_line_error(tmp_path, run_cli):
    config = tmp_path / "bad.yaml"
    config.write_text("cores: 1\npartition: short\n")
    code, _, stderr = run_cli("cluster", "--config", str(config), "--dry-run")
    assert code == 2 and stderr.count("\n") == 1
    assert "unknown keys ['partition']" in stderr
