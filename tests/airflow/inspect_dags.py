"""What Apache Airflow itself makes of the generated DAG file, written as JSON for
``tests/python/test_airflow.py``. It runs on the Python of Airflow's own virtualenv (``make airflow``), not
the project's, and reads Airflow's objects only: the DagBag that parses the file, the timetable that
schedules it, and the metadata database that ``airflow dags test`` writes to.

    python inspect_dags.py OUT dags FOLDER                  # the DagBag of FOLDER: errors, warnings, DAGs
    python inspect_dags.py OUT runs DAG_ID                  # the DAG's runs, each task's state and tries
    python inspect_dags.py OUT call FOLDER COMMAND CODE...  # the build task's callable, through COMMAND

The JSON goes to the file OUT: Airflow logs to stdout.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime
from enum import Enum
from pathlib import Path
from typing import Any

import airflow
from airflow.dag_processing.dagbag import DagBag
from airflow.models.dagrun import DagRun
from airflow.models.renderedtifields import RenderedTaskInstanceFields
from airflow.timetables.base import TimeRestriction

# The first scheduled run at or after this instant: it shows which day a run is for ({{ ds }}).
SCHEDULED_FROM = datetime.fromisoformat("2024-03-03T00:00:00+00:00")


def _name(value: Any) -> str:
    """An enum's value (a trigger rule, a state), else the value as text."""
    return str(value.value if isinstance(value, Enum) else value)


def _qualified(kind: type) -> str:
    return f"{kind.__module__}.{kind.__qualname__}"


def _task(task: Any) -> dict[str, Any]:
    return {
        "task_id": task.task_id,
        "operator": _qualified(type(task)),
        "upstream": sorted(task.upstream_task_ids),
        "downstream": sorted(task.downstream_task_ids),
        "trigger_rule": _name(task.trigger_rule),
        "retries": task.retries,
        "retry_delay_seconds": task.retry_delay.total_seconds(),
        "retry_exponential_backoff": task.retry_exponential_backoff,
        "max_retry_delay_seconds": task.max_retry_delay.total_seconds(),
        "execution_timeout_seconds": task.execution_timeout.total_seconds(),
        "template_fields": list(task.template_fields),
        "op_args": list(task.op_args),
        "op_kwargs": dict(task.op_kwargs),
        "callable": task.python_callable.__name__,
    }


def dags(folder: str) -> dict[str, Any]:
    bag = DagBag(dag_folder=folder)
    found = {}
    for dag_id in bag.dag_ids:
        dag = bag.get_dag(dag_id)
        first = dag.timetable.next_dagrun_info(
            last_automated_data_interval=None,
            restriction=TimeRestriction(earliest=SCHEDULED_FROM, latest=None, catchup=True),
        )
        found[dag_id] = {
            "description": dag.description,
            "timetable": _qualified(type(dag.timetable)),
            "schedule": dag.timetable.summary,
            "timezone": str(dag.timezone),
            "start_date": dag.start_date.isoformat(),
            "catchup": dag.catchup,
            "max_active_runs": dag.max_active_runs,
            "tags": sorted(dag.tags),
            "first_scheduled_run": {
                "run_after": first.run_after.isoformat(),
                "logical_date": first.logical_date.isoformat(),
                "data_interval": [first.data_interval.start.isoformat(), first.data_interval.end.isoformat()],
            },
            "tasks": [_task(task) for task in dag.tasks],  # in the order the file declares them
        }
    return {
        "airflow_version": airflow.__version__,
        "files": sorted(Path(path).name for path in bag.file_last_changed),
        "import_errors": bag.import_errors,
        "warnings": {path: list(lines) for path, lines in bag.captured_warnings.items()},
        "dags": found,
    }


def runs(dag_id: str) -> list[dict[str, Any]]:
    return [
        {
            "run_id": run.run_id,
            "state": _name(run.state),
            "logical_date": run.logical_date.isoformat(),
            "tasks": {
                ti.task_id: {
                    "state": _name(ti.state),
                    "try_number": ti.try_number,
                    "rendered": RenderedTaskInstanceFields.get_templated_fields(ti),
                }
                for ti in run.get_task_instances()
            },
        }
        for run in DagRun.find(dag_id=dag_id)
    ]


def call(folder: str, command: str, codes: list[str]) -> list[dict[str, Any]]:
    """The callable of the daily DAG's build task, called with the task's own keyword arguments (their
    templates filled in), its command replaced by COMMAND, which exits with $SHOPWAREHOUSE_TEST_EXIT: what
    each exit code raises."""
    task = DagBag(dag_folder=folder).get_dag("shopwarehouse_daily").get_task("build")
    module = task.python_callable.__globals__
    module["SHOPWAREHOUSE"], module["INSTALL_DIR"] = command, str(Path(command).parent)
    rendered = {**task.op_kwargs, "ds": "2024-03-03", "run_id": "scheduled__2024-03-03T02:00:00+00:00"}
    outcomes = []
    for code in codes:
        os.environ["SHOPWAREHOUSE_TEST_EXIT"] = code
        raised = None
        try:
            task.python_callable(**rendered)
        except Exception as error:
            raised = {"type": _qualified(type(error)), "message": str(error)}
        outcomes.append({"code": int(code), "raised": raised})
    return outcomes


def main(out: str, mode: str, *args: str) -> None:
    result: Any
    if mode == "dags":
        result = dags(*args)
    elif mode == "runs":
        result = runs(*args)
    elif mode == "call":
        result = call(args[0], args[1], list(args[2:]))
    else:
        raise SystemExit(f"unknown mode {mode!r}: dags, runs or call")
    Path(out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main(*sys.argv[1:])
