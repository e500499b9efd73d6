"""The generated Airflow DAG on real Apache Airflow: the version pinned in tools/airflow/requirements.txt, in
a virtualenv of its own (``make airflow``; Airflow is not among the project's dependencies). Airflow's
DagBag loads the file, and the tasks, edges, retries, trigger rules and templates are read from Airflow's
own objects (``tests/airflow/inspect_dags.py``, run on Airflow's Python); ``airflow dags test`` runs the
daily DAG on the embedded default, each task a ``shopwarehouse run --step`` of this checkout, and the run
ledger then holds the day's run with every step.

Airflow runs in a scratch home with a SQLite metadata database and no example DAGs; ``dags test`` runs the
tasks in the ``airflow`` process itself (no scheduler, no API server, nothing on the network)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
from support import REPO, cli, duckdb_env, small_shop

from shopwarehouse.config import Settings
from shopwarehouse.dev.generate import generate
from shopwarehouse.landing.zone import LocalLanding
from shopwarehouse.pipeline.orchestrate import STEP_NAMES, STEP_TIMEOUT_SECONDS, airflow_dag
from shopwarehouse.pipeline.report import EXIT_FAILED, EXIT_TRANSIENT, FAILED, SUCCEEDED, WARNED
from shopwarehouse.pipeline.retry import RetryPolicy

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("airflow")]

DEFAULTS = Settings()
POLICY = RetryPolicy.from_settings(DEFAULTS)
AIRFLOW_VENV = REPO / ".venv-airflow"
REQUIREMENTS = REPO / "tools" / "airflow" / "requirements.txt"
INSPECT = REPO / "tests" / "airflow" / "inspect_dags.py"
COMMITTED_DAG = REPO / "deploy" / "airflow" / "shopwarehouse_daily.py"
DAY = date(2024, 3, 3)
# The logical date of the run scheduled at 02:00 UTC on DAY + 1 (its data interval's start): {{ ds }} is DAY.
LOGICAL_DATE = "2024-03-03T02:00:00+00:00"


@dataclass
class Airflow:
    """Airflow's commands and the inspecting script, in one scratch AIRFLOW_HOME."""

    home: Path
    env: dict[str, str]

    def command(self, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """``airflow *args`` (its output kept; the caller checks the exit code)."""
        return subprocess.run(
            [str(AIRFLOW_VENV / "bin" / "airflow"), *args],
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            timeout=600,
        )

    def inspect(self, *args: str) -> Any:
        """What ``inspect_dags.py *args`` read from Airflow, as JSON."""
        out = self.home / "inspected.json"
        out.unlink(missing_ok=True)
        result = subprocess.run(
            [str(AIRFLOW_VENV / "bin" / "python"), str(INSPECT), str(out), *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=300,
        )
        assert result.returncode == 0, f"inspect_dags.py {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return json.loads(out.read_text())

    def run_of(self, dag_id: str, logical_date: str) -> dict[str, Any]:
        [run] = [run for run in self.inspect("runs", dag_id) if run["logical_date"] == logical_date]
        return run  # type: ignore[no-any-return]


def _tail(result: subprocess.CompletedProcess[str], lines: int = 60) -> str:
    return "\n".join((result.stdout + result.stderr).splitlines()[-lines:])


@pytest.fixture(scope="module")
def airflow(tmp_path_factory: pytest.TempPathFactory) -> Airflow:
    """A migrated SQLite metadata database in a scratch AIRFLOW_HOME whose DAG folder holds the DAG file
    generated with this checkout as its install directory (its tasks run ``.venv/bin/shopwarehouse``)."""
    if not (AIRFLOW_VENV / "bin" / "airflow").exists():
        pytest.fail(f"Apache Airflow is not installed in {AIRFLOW_VENV}: run `make airflow` (make test does)")
    home = tmp_path_factory.mktemp("airflow")
    dags = home / "dags"
    dags.mkdir()
    (dags / "shopwarehouse_daily.py").write_text(airflow_dag(DEFAULTS, str(REPO)))
    env = {name: value for name, value in os.environ.items() if not name.startswith("AIRFLOW")} | {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
    }
    airflow = Airflow(home, env)
    migrated = airflow.command("db", "migrate")
    assert migrated.returncode == 0, _tail(migrated)
    return airflow


# -- the DAG file in Airflow's DagBag -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def dagbag(airflow: Airflow) -> dict[str, Any]:
    """Airflow's DagBag of the committed DAG file (deploy/airflow), as inspect_dags.py reports it."""
    folder = airflow.home / "deploy"
    folder.mkdir()
    shutil.copy(COMMITTED_DAG, folder)
    found: dict[str, Any] = airflow.inspect("dags", str(folder))
    return found


def test_the_dag_file_loads_in_airflows_dagbag_without_errors_or_warnings(dagbag: dict[str, Any]) -> None:
    pinned = [line for line in REQUIREMENTS.read_text().splitlines() if line.startswith("apache-airflow==")]
    assert pinned == [f"apache-airflow=={dagbag['airflow_version']}"], "run `make airflow`: its venv is stale"
    assert dagbag["files"] == ["shopwarehouse_daily.py"]
    assert dagbag["import_errors"] == {}
    assert dagbag["warnings"] == {}  # no deprecated import or argument either
    assert sorted(dagbag["dags"]) == ["shopwarehouse_daily", "shopwarehouse_sla"]


def test_the_daily_dag_has_one_task_per_step_in_a_chain(dagbag: dict[str, Any]) -> None:
    daily = dagbag["dags"]["shopwarehouse_daily"]
    tasks = daily["tasks"]
    assert [task["task_id"] for task in tasks] == STEP_NAMES
    for number, task in enumerate(tasks):
        assert task["upstream"] == STEP_NAMES[max(number - 1, 0) : number]
        assert task["downstream"] == STEP_NAMES[number + 1 : number + 2]
        assert task["operator"] == "airflow.providers.standard.operators.python.PythonOperator"
        assert task["callable"] == "run_step"
        # Airflow renders op_kwargs: each task runs its step for the run's day, in the run
        assert "op_kwargs" in task["template_fields"]
        assert task["op_kwargs"] == {"step": task["task_id"], "ds": "{{ ds }}", "run_id": "{{ run_id }}"}
    # The notify task runs whatever happened before it; a step runs only when the one before it succeeded
    assert {task["task_id"]: task["trigger_rule"] for task in tasks} == {
        name: "all_done" if name == "notify" else "all_success" for name in STEP_NAMES
    }
    assert (daily["schedule"], daily["timezone"], daily["catchup"], daily["max_active_runs"]) == (
        "0 2 * * *", "UTC", False, 1,
    )  # fmt: skip
    assert daily["timetable"].endswith(".CronDataIntervalTimetable")


def test_a_scheduled_run_is_for_the_day_before_it(dagbag: dict[str, Any]) -> None:
    """The run Airflow schedules at 02:00 UTC on 2024-03-04 has the logical date 2024-03-03T02:00, the start
    of its data interval: its {{ ds }} is 2024-03-03, the day whose data it loads."""
    first = dagbag["dags"]["shopwarehouse_daily"]["first_scheduled_run"]
    assert first == {
        "run_after": "2024-03-04T02:00:00+00:00",
        "logical_date": LOGICAL_DATE,
        "data_interval": [LOGICAL_DATE, "2024-03-04T02:00:00+00:00"],
    }
    sla = dagbag["dags"]["shopwarehouse_sla"]["first_scheduled_run"]
    assert sla["run_after"] == f"2024-03-04T{DEFAULTS.sla_deadline:%H:%M}:00+00:00"


def test_every_task_retries_as_the_retry_settings_say(dagbag: dict[str, Any]) -> None:
    """Airflow retries a task only when its process did not decide (see the next test), with the backoff of
    the steps' own retry policy."""
    for dag in dagbag["dags"].values():
        for task in dag["tasks"]:
            assert (task["retries"], task["retry_delay_seconds"], task["max_retry_delay_seconds"]) == (
                POLICY.attempts - 1, POLICY.base_seconds, POLICY.max_seconds,
            )  # fmt: skip
            assert task["retry_exponential_backoff"] is True
            assert task["execution_timeout_seconds"] == STEP_TIMEOUT_SECONDS


def test_the_sla_dag_checks_the_promise_at_the_deadline(dagbag: dict[str, Any]) -> None:
    sla = dagbag["dags"]["shopwarehouse_sla"]
    deadline = DEFAULTS.sla_deadline
    assert (sla["schedule"], sla["timezone"]) == (f"{deadline.minute} {deadline.hour} * * *", "UTC")
    [task] = sla["tasks"]
    assert (task["task_id"], task["callable"], task["op_args"]) == (
        "check_sla", "shopwarehouse", ["status", "--check-sla"],
    )  # fmt: skip


@pytest.fixture(scope="module")
def outcomes(airflow: Airflow) -> dict[int, dict[str, Any]]:
    """The build task's callable run through a stand-in command that records its arguments and exits with
    each code in turn; what Airflow exception each code raised."""
    command = airflow.home / "stand-in" / "shopwarehouse"
    command.parent.mkdir()
    command.write_text(f'#!/bin/sh\necho "$@" >> {command.parent}/args\nexit "$SHOPWAREHOUSE_TEST_EXIT"\n')
    command.chmod(0o755)
    codes = [0, EXIT_FAILED, EXIT_TRANSIENT, 137]
    found = airflow.inspect("call", str(airflow.home / "dags"), str(command), *map(str, codes))
    calls = (command.parent / "args").read_text().splitlines()
    assert calls == ["run --step build --date 2024-03-03 --run-id scheduled__2024-03-03T02:00:00+00:00"] * 4
    return {outcome["code"]: outcome["raised"] for outcome in found}


@pytest.mark.parametrize(
    ("exit_code", "raised"),
    [(0, None), (EXIT_FAILED, "AirflowFailException"), (EXIT_TRANSIENT, "AirflowFailException"),
     (137, "AirflowException")],
)  # fmt: skip
def test_a_task_fails_for_good_on_a_decided_exit_and_is_retried_otherwise(
    outcomes: dict[int, dict[str, Any]], exit_code: int, raised: str | None
) -> None:
    """A step exits 0, 1 or 75 once it has decided (it retried its own transient faults); Airflow's
    AirflowFailException fails the task without its retries. Any other end (killed: 137) raises
    AirflowException, which Airflow retries."""
    outcome = outcomes[exit_code]
    assert (outcome["type"] if outcome else None) == (raised and f"airflow.sdk.exceptions.{raised}")
    if outcome:
        assert outcome["message"].startswith("shopwarehouse run --step build --date 2024-03-03 ")


# -- `airflow dags test`: the real DAG on the embedded default ----------------------------------------------


def _ledger(warehouse: Path) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        runs = conn.execute(
            "select run_id, run_date, status, rows_loaded, tests_passed, tests_failed, error "
            "from ops.pipeline_runs"
        ).fetchall()
        steps = conn.execute(
            "select run_id, step, status from ops.pipeline_steps order by step_number, finished_at"
        ).fetchall()
    return runs, steps


def test_airflow_dags_test_runs_the_day_and_the_ledger_holds_it(airflow: Airflow, tmp_path: Path) -> None:
    # GIVEN three small days landed in a directory, and an empty DuckDB warehouse
    generate(LocalLanding(tmp_path / "landing"), small_shop(days=3))
    settings = duckdb_env(tmp_path, tmp_path / "landing")
    # WHEN Airflow runs the DAG for the logical date of the run scheduled at 02:00 UTC on 2024-03-04; the
    # settings reach each task's `shopwarehouse` process through the environment
    result = airflow.command("dags", "test", "shopwarehouse_daily", LOGICAL_DATE, env=settings)
    assert result.returncode == 0, _tail(result)
    # THEN Airflow's run succeeded, every task at its first try, each rendered for 2024-03-03 in that run
    run = airflow.run_of("shopwarehouse_daily", LOGICAL_DATE)
    assert run["state"] == "success"
    assert sorted(run["tasks"]) == sorted(STEP_NAMES)
    for name, task in run["tasks"].items():
        assert (task["state"], task["try_number"]) == ("success", 1), name
        assert task["rendered"]["op_kwargs"] == {"step": name, "ds": DAY.isoformat(), "run_id": run["run_id"]}
    # AND the run ledger holds that day's run under Airflow's run id, with every step in order
    runs, steps = _ledger(tmp_path / "warehouse.duckdb")
    [(run_id, run_date, status, rows_loaded, tests_passed, tests_failed, error)] = runs
    assert (run_id, run_date, error) == (run["run_id"], DAY, None)
    assert status in (SUCCEEDED, WARNED)
    assert (rows_loaded > 0, tests_passed > 100, tests_failed) == (True, True, 0)
    assert [step for step_run, step, _ in steps if step_run == run_id] == STEP_NAMES
    # (the quality gate, a process of its own, judged the build another process recorded)
    assert (run_id, "quality_gate", SUCCEEDED) in steps
    # AND `shopwarehouse status` lists it
    status_line = f"{run_id}  {DAY}  {status}"
    assert status_line in cli("status", env={**settings, "SHOPWAREHOUSE_NOW": "2024-03-04T07:00:00Z"}).stdout
    # AND a step of another day under the same run id is refused
    step_of_another_day = ("run", "--date", "2024-03-02", "--step", "load", "--run-id", run_id)
    other = cli(*step_of_another_day, env=settings, returncode=1)
    assert f"run {run_id} is the run of {DAY}, not of 2024-03-02" in other.stderr


def test_airflow_dags_test_of_a_day_not_landed_fails_at_the_first_step_and_notifies(
    airflow: Airflow, tmp_path: Path
) -> None:
    # GIVEN nothing landed for 2024-03-09
    (tmp_path / "landing").mkdir()
    settings = duckdb_env(tmp_path, tmp_path / "landing")
    logical_date = "2024-03-09T02:00:00+00:00"
    # WHEN Airflow runs the DAG for it
    result = airflow.command("dags", "test", "shopwarehouse_daily", logical_date, env=settings)
    # THEN the DAG run failed: check_landing failed at once (exit 1 is final: no retry), the steps after it
    # never ran, and notify ran all the same, reported the failure and failed in turn
    assert result.returncode != 0, _tail(result)
    run = airflow.run_of("shopwarehouse_daily", logical_date)
    assert run["state"] == "failed"
    states = {name: (task["state"], task["try_number"]) for name, task in run["tasks"].items()}
    assert states == {
        "check_landing": ("failed", 1),
        **{name: ("upstream_failed", 0) for name in STEP_NAMES[1:-1]},
        "notify": ("failed", 1),
    }
    # AND the run ledger holds the failed run, its error the first step's
    runs, steps = _ledger(tmp_path / "warehouse.duckdb")
    [(run_id, run_date, status, *_, error)] = runs
    assert (run_id, run_date, status) == (run["run_id"], date(2024, 3, 9), FAILED)
    assert error.startswith("check_landing: ")
    assert [(step, status) for _, step, status in steps] == [("check_landing", FAILED), ("notify", SUCCEEDED)]
