"""The orchestrator definitions: made from the run's own steps, committed as generated, each checked for
its structure (and the Step Functions one by a real ASL validator and JSONata engine)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from support import REPO

from shopwarehouse.config import Settings
from shopwarehouse.landing.s3 import aws_client
from shopwarehouse.pipeline.orchestrate import (
    ECS_START_ERRORS,
    STEP_NAMES,
    airflow_dag,
    crontab,
    schedules,
    state_machine,
    write_definitions,
)
from shopwarehouse.pipeline.report import EXIT_FAILED, EXIT_TRANSIENT

DEFAULTS = Settings()
ASL_TOOLS = REPO / "tools" / "asl" / "node_modules"


def test_the_committed_definitions_are_the_generated_ones(tmp_path: Path) -> None:
    written = write_definitions(tmp_path, DEFAULTS)
    assert len(written) == 5
    for path in written:
        committed = REPO / "deploy" / path.relative_to(tmp_path)
        assert committed.read_text() == path.read_text(), f"{committed} is stale: run `make orchestration`"


def test_the_crontab_runs_the_day_at_2_utc_and_checks_the_sla_at_the_deadline() -> None:
    lines = [
        line for line in crontab(DEFAULTS, "/opt/shopwarehouse").splitlines() if not line.startswith("#")
    ]
    assert lines[0] == "CRON_TZ=UTC"
    jobs = [line.split(maxsplit=5) for line in lines[1:]]
    assert [job[:5] for job in jobs] == [["0", "2", "*", "*", "*"], ["0", "6", "*", "*", "*"]]
    run, check = (shlex.split(job[5]) for job in jobs)
    assert run[-5:] == [".venv/bin/shopwarehouse", "run", ">>", "logs/pipeline.log", "2>&1"]
    assert check[-5:] == ["status", "--check-sla", ">>", "logs/pipeline.log", "2>&1"]
    for job in jobs:  # each command is valid shell
        subprocess.run(["bash", "-n", "-c", job[5]], check=True)
    assert ", ".join(STEP_NAMES) in crontab(DEFAULTS, "/opt/shopwarehouse")


class _Task:
    def __init__(self, dag: _Dag, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.upstream: list[_Task] = []
        dag.tasks.append(self)

    def __rshift__(self, other: _Task) -> _Task:
        other.upstream.append(self)
        return other


class _Dag:
    current: _Dag | None = None
    made: list[_Dag] = []  # noqa: RUF012 (the stand-in's registry)

    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs
        self.tasks: list[_Task] = []
        _Dag.made.append(self)

    def __enter__(self) -> _Dag:
        _Dag.current = self
        return self

    def __exit__(self, *args: object) -> None:
        _Dag.current = None


@pytest.fixture
def dag_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    """The generated DAG file, executed against stand-ins for the Airflow classes it uses (Airflow itself
    is not installed here): they record the DAGs, tasks, edges and arguments the file declares."""
    exceptions = types.ModuleType("airflow.exceptions")

    class AirflowException(Exception):
        pass

    class AirflowFailException(AirflowException):
        pass

    exceptions.AirflowException, exceptions.AirflowFailException = AirflowException, AirflowFailException  # type: ignore[attr-defined]
    interval = types.ModuleType("airflow.timetables.interval")
    interval.CronDataIntervalTimetable = lambda cron, timezone: (cron, timezone)  # type: ignore[attr-defined]
    sdk = types.ModuleType("airflow.sdk")
    sdk.DAG = _Dag  # type: ignore[attr-defined]
    python = types.ModuleType("airflow.providers.standard.operators.python")

    def operator(**kwargs: Any) -> _Task:
        assert _Dag.current is not None, "a task outside its DAG"
        return _Task(_Dag.current, **kwargs)

    python.PythonOperator = operator  # type: ignore[attr-defined]
    for name, module in {"airflow": types.ModuleType("airflow"), "airflow.exceptions": exceptions,
                         "airflow.timetables.interval": interval, "airflow.sdk": sdk,
                         "airflow.providers.standard.operators.python": python}.items():  # fmt: skip
        monkeypatch.setitem(sys.modules, name, module)
    _Dag.made = []
    path = tmp_path / "shopwarehouse_daily.py"
    path.write_text(airflow_dag(DEFAULTS, "/opt/shopwarehouse"))
    module = types.ModuleType("shopwarehouse_daily")
    module.__file__ = str(path)
    exec(compile(path.read_text(), str(path), "exec"), module.__dict__)  # noqa: S102 (our generated file)
    return module


def test_the_airflow_dag_has_one_task_per_step_in_order(dag_module: types.ModuleType) -> None:
    daily, sla = _Dag.made
    assert daily.kwargs["dag_id"] == "shopwarehouse_daily"
    assert daily.kwargs["schedule"] == ("0 2 * * *", "UTC")
    assert daily.kwargs["max_active_runs"] == 1
    assert [task.kwargs["task_id"] for task in daily.tasks] == STEP_NAMES
    for before, task in zip(daily.tasks, daily.tasks[1:], strict=False):
        assert task.upstream == [before]
    assert {t.kwargs["task_id"]: t.kwargs["trigger_rule"] for t in daily.tasks} == {
        name: "all_done" if name == "notify" else "all_success" for name in STEP_NAMES
    }
    assert daily.tasks[1].kwargs["op_kwargs"] == {"step": "load", "ds": "{{ ds }}", "run_id": "{{ run_id }}"}
    retries = daily.kwargs["default_args"]
    assert retries["retries"] == DEFAULTS.retry_attempts - 1
    assert retries["retry_delay"].total_seconds() == DEFAULTS.retry_base_seconds
    assert retries["retry_exponential_backoff"] is True
    assert sla.kwargs["schedule"] == ("0 6 * * *", "UTC")
    assert [t.kwargs["op_args"] for t in sla.tasks] == [["status", "--check-sla"]]


@pytest.mark.parametrize(
    ("exit_code", "raised"),
    [(0, None), (EXIT_FAILED, "AirflowFailException"), (EXIT_TRANSIENT, "AirflowFailException"),
     (137, "AirflowException")],
)  # fmt: skip
def test_the_airflow_tasks_retry_only_a_process_that_did_not_decide(
    dag_module: types.ModuleType, tmp_path: Path, exit_code: int, raised: str | None
) -> None:
    # A stand-in command that records its arguments and exits as told
    command = tmp_path / "shopwarehouse"
    command.write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/args\nexit {exit_code}\n')
    command.chmod(0o755)
    setattr(dag_module, "SHOPWAREHOUSE", str(command))  # noqa: B010 (a name the generated file defines)
    setattr(dag_module, "INSTALL_DIR", str(tmp_path))  # noqa: B010
    error: Exception | None = None
    try:
        dag_module.run_step("build", "2024-03-03", "scheduled__2024-03-04T02:00:00+00:00")
    except Exception as raised_error:
        error = raised_error
    assert (type(error).__name__ if error else None) == raised
    assert (tmp_path / "args").read_text().split() == [
        "run", "--step", "build", "--date", "2024-03-03", "--run-id", "scheduled__2024-03-04T02:00:00+00:00",
    ]  # fmt: skip


def test_the_state_machine_runs_each_step_with_retry_and_catch() -> None:
    asl = state_machine(DEFAULTS)
    states = asl["States"]
    assert asl["StartAt"] == "resolve_run_date"
    # The chain of Next from the start visits every step in order
    chain, name = [], states["resolve_run_date"]["Next"]
    while True:
        chain.append(name)
        if states[name].get("End"):
            break
        name = states[name]["Next"]
    assert chain == STEP_NAMES
    for name in STEP_NAMES:
        state = states[name]
        assert state["Resource"] == "arn:aws:states:::ecs:runTask.sync"
        [override] = state["Arguments"]["Overrides"]["ContainerOverrides"]
        assert f"'--step', '{name}'" in override["Command"]
        [retry] = state["Retry"]
        assert retry["ErrorEquals"] == ECS_START_ERRORS
        assert (retry["MaxAttempts"], retry["BackoffRate"], retry["JitterStrategy"]) == (
            DEFAULTS.retry_attempts - 1, 2.0, "FULL",
        )  # fmt: skip
        if name != "notify":
            assert state["Catch"] == [{"ErrorEquals": ["States.ALL"], "Next": "notify_failure"}]
    assert states["notify_failure"]["Next"] == "run_failed"
    assert states["run_failed"]["Type"] == "Fail"


def _node(script: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"NODE_PATH": str(ASL_TOOLS), "PATH": "/usr/local/bin:/usr/bin:/bin"}
    return subprocess.run(["node", "-e", script, *args], capture_output=True, text=True, env=env, check=False)


def test_the_state_machine_is_valid_asl_and_a_broken_one_is_not(tmp_path: Path) -> None:
    assert (ASL_TOOLS / ".bin" / "asl-validator").exists(), "run `make install` (npm ci --prefix tools/asl)"
    validator = [str(ASL_TOOLS / ".bin" / "asl-validator"), "--json-path"]
    good = REPO / "deploy" / "stepfunctions" / "state_machine.asl.json"
    checked = subprocess.run([*validator, str(good)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    broken = json.loads(good.read_text())
    broken["States"]["load"]["Next"] = "no_such_state"
    (tmp_path / "broken.json").write_text(json.dumps(broken))
    refused = subprocess.run(
        [*validator, str(tmp_path / "broken.json")], capture_output=True, text=True, check=False
    )
    assert refused.returncode != 0
    assert "no_such_state" in refused.stdout + refused.stderr


@pytest.mark.parametrize(
    ("execution_input", "started", "run_date"),
    [({}, "2024-03-04T02:00:03.5Z", "2024-03-03"), ({}, "2024-03-01T02:00:00Z", "2024-02-29"),
     ({"run_date": "2024-01-15"}, "2024-03-04T02:00:00Z", "2024-01-15")],
)  # fmt: skip
def test_the_state_machine_runs_yesterday_or_the_day_it_is_given(
    execution_input: dict[str, str], started: str, run_date: str
) -> None:
    expression = state_machine(DEFAULTS)["States"]["resolve_run_date"]["Assign"]["run_date"]
    script = """
const jsonata = require('jsonata');
const [expression, input, started] = process.argv.slice(1);
const states = {input: JSON.parse(input), context: {Execution: {StartTime: started, Name: 'x'}}};
jsonata(expression).evaluate({}, {states}).then(value => console.log(value));
"""
    body = re.fullmatch(r"\{% (.*) %\}", expression, re.DOTALL)
    assert body is not None
    result = _node(script, body[1], json.dumps(execution_input), started)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == run_date


def test_the_schedules_are_accepted_by_the_eventbridge_api(s3_endpoint: str) -> None:
    """The local moto server answers with EventBridge's API; botocore checks each rule and target against
    the service's own model before sending it."""
    rules = schedules(DEFAULTS)
    assert rules["shopwarehouse-daily"]["ScheduleExpression"] == "cron(0 2 * * ? *)"
    assert rules["shopwarehouse-sla"]["ScheduleExpression"] == "cron(0 6 * * ? *)"
    sla_input = json.loads(rules["shopwarehouse-sla"]["Targets"][0]["Input"])
    assert sla_input["containerOverrides"][0]["command"] == ["status", "--check-sla"]
    events = aws_client("events", s3_endpoint)
    for name, rule in rules.items():
        arns = {"${StateMachineArn}": "arn:aws:states:us-east-1:123456789012:stateMachine:shopwarehouse",
                "${ClusterArn}": "arn:aws:ecs:us-east-1:123456789012:cluster/shopwarehouse"}  # fmt: skip
        targets = json.loads(_substitute(json.dumps(rule["Targets"]), arns))
        events.put_rule(Name=name, ScheduleExpression=rule["ScheduleExpression"], State=rule["State"])
        assert events.put_targets(Rule=name, Targets=targets)["FailedEntryCount"] == 0
    listed = {rule["Name"]: rule["ScheduleExpression"] for rule in events.list_rules()["Rules"]}
    assert listed == {name: rule["ScheduleExpression"] for name, rule in rules.items()}


def _substitute(text: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        text = text.replace(placeholder, value)
    return re.sub(r"\$\{(\w+)\}", lambda m: f"{m[1].lower()}-1", text)


def test_the_definitions_follow_the_settings() -> None:
    settings = DEFAULTS.with_overrides(retry_attempts=5, sla_deadline_utc="07:30")
    assert states_retry(settings)["MaxAttempts"] == 4
    assert "30 7 * * *" in crontab(settings, "/srv/shop")
    assert "cd /srv/shop &&" in crontab(settings, "/srv/shop")
    assert schedules(settings)["shopwarehouse-sla"]["ScheduleExpression"] == "cron(30 7 * * ? *)"


def states_retry(settings: Settings) -> dict[str, Any]:
    retry: dict[str, Any] = state_machine(settings)["States"]["build"]["Retry"][0]
    return retry
