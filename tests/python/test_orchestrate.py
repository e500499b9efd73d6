"""The orchestrator definitions: made from the run's own steps, committed as generated, each checked for
its structure (the Step Functions one by a real ASL validator and JSONata engine; the Airflow DAG by real
Airflow, in test_airflow.py)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path
from typing import Any

import pytest
from support import REPO

from shopwarehouse.config import Settings
from shopwarehouse.landing.s3 import aws_client
from shopwarehouse.pipeline.orchestrate import (
    ECS_START_ERRORS,
    STEP_NAMES,
    crontab,
    schedules,
    state_machine,
    write_definitions,
)

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
