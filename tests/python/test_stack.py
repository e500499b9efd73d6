"""The CloudFormation template in deploy/cloudformation: what it says (names, retention, lock-down, least
privilege, alarms), cfn-lint and checkov over it, and a deployment to the local server's CloudFormation
that a daily run then uses."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.exceptions
import orjson
import pytest
import yaml
from support import REPO, cli, duckdb_env, read_metric, topic_inbox

from shopwarehouse.config import Settings
from shopwarehouse.dev.generate import GenerateOptions, generate
from shopwarehouse.landing.contract import ENTITIES
from shopwarehouse.landing.s3 import aws_client, make_client
from shopwarehouse.landing.zone import open_landing
from shopwarehouse.pipeline.orchestrate import schedules, state_machine

TEMPLATE = REPO / "deploy" / "cloudformation" / "shopwarehouse.yaml"
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
DEFAULTS = Settings()
# CloudFormation takes a template of at most 51,200 bytes inline (`aws cloudformation deploy` without an
# S3 bucket for it).
INLINE_TEMPLATE_BYTES = 51_200


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(TEMPLATE.read_text())
    return loaded


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r["Properties"] for name, r in template["Resources"].items() if r["Type"] == kind}


def statements(template: dict[str, Any], role: str) -> dict[str, dict[str, Any]]:
    """The role's inline policy statements by Sid, the conditional ones (``Fn::If``) as their true branch."""
    [policy] = template["Resources"][role]["Properties"]["Policies"]
    found = {}
    for statement in policy["PolicyDocument"]["Statement"]:
        if "Fn::If" in statement:
            [statement] = [branch for branch in statement["Fn::If"][1:] if "Sid" in branch]
        found[statement["Sid"]] = statement
    return found


# -- what the template says ---------------------------------------------------------------------------------


def test_every_name_carries_the_environment(template: dict[str, Any]) -> None:
    assert template["Parameters"]["Environment"]["AllowedValues"] == ["dev", "staging", "prod"]
    named = 0
    for name, resource in template["Resources"].items():
        for key, value in resource["Properties"].items():
            if key in ("Name", "Family", "AliasName") or (key.endswith("Name") and key != "MetricName"):
                assert "${Environment}" in value["Fn::Sub"], f"{name}.{key} = {value}"
                named += 1
    assert named >= 20
    bucket = template["Resources"]["LandingBucket"]["Properties"]["BucketName"]["Fn::Sub"]
    assert bucket == "shopwarehouse-${Environment}-landing-${AWS::AccountId}"  # unique across accounts
    assert len(TEMPLATE.read_bytes()) < INLINE_TEMPLATE_BYTES


def test_the_bucket_keeps_each_zone_its_days_and_is_locked_down(template: dict[str, Any]) -> None:
    bucket = template["Resources"]["LandingBucket"]
    rules = bucket["Properties"]["LifecycleConfiguration"]["Rules"]
    assert {r.get("Prefix"): r["ExpirationInDays"] for r in rules if "ExpirationInDays" in r} == {
        "raw/": 30, "quarantine/": 90, "_stage/": 2, "silver/": 365, "gold/": 1095,
    }  # fmt: skip
    assert all(rule["Status"] == "Enabled" for rule in rules)
    [encryption] = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert encryption["ServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    assert set(bucket["Properties"]["PublicAccessBlockConfiguration"].values()) == {True}
    assert len(bucket["Properties"]["PublicAccessBlockConfiguration"]) == 4
    assert (bucket["DeletionPolicy"], bucket["UpdateReplacePolicy"]) == ("Retain", "Retain")
    [deny] = template["Resources"]["LandingBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
    assert (deny["Effect"], deny["Action"], deny["Condition"]) == (
        "Deny", "s3:*", {"Bool": {"aws:SecureTransport": "false"}},
    )  # fmt: skip
    # Every checkov skip says why
    for skip in bucket["Metadata"]["checkov"]["skip"]:
        assert len(skip["comment"]) > 40, skip


def test_the_task_role_reads_raw_writes_quarantine_and_stage_and_publishes_its_own(
    template: dict[str, Any],
) -> None:
    task = statements(template, "TaskRole")
    objects = "arn:${AWS::Partition}:s3:::${LandingBucket}/"
    grants = {
        (action, s["Resource"]["Fn::Sub"].removeprefix(objects))
        for s in task.values() if "Fn::Sub" in s["Resource"] and objects in s["Resource"]["Fn::Sub"]
        for action in s["Action"]
    }  # fmt: skip
    assert grants == {
        ("s3:GetObject", "raw/*"), ("s3:PutObject", "quarantine/*"),
        ("s3:PutObject", "_stage/*"), ("s3:GetObject", "_stage/*"), ("s3:DeleteObject", "_stage/*"),
    }  # fmt: skip
    assert task["ListTheseKeys"]["Condition"] == {
        "StringLike": {"s3:prefix": ["raw/*", "quarantine/*", "_stage/*"]}
    }
    assert task["Notify"]["Resource"] == [{"Ref": "PipelineTopic"}, {"Ref": "DataQualityTopic"}]
    assert task["PutItsMetrics"]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "ShopWarehouse"}}
    # No wildcard action anywhere, and "*" resources only where AWS allows nothing else
    for role in ("TaskRole", "TaskExecutionRole", "StateMachineRole", "EventsRole", "RedshiftCopyRole"):
        for sid, statement in statements(template, role).items():
            assert all("*" not in action for action in statement["Action"]), (role, sid)
            if statement["Resource"] == "*":
                assert sid in ("SignInToEcr", "PutItsMetrics", "DeliverItsLogs"), (role, sid)


def test_the_orchestrators_run_only_the_stacks_task_and_redshift_reads_only_stage(
    template: dict[str, Any],
) -> None:
    for role in ("StateMachineRole", "EventsRole"):
        granted = statements(template, role)
        assert granted["RunTheTask"]["Resource"] == {"Ref": "TaskDefinition"}
        assert granted["RunTheTask"]["Condition"] == {
            "ArnEquals": {"ecs:cluster": {"Fn::GetAtt": ["Cluster", "Arn"]}}
        }
        assert granted["PassTheTaskRoles"]["Resource"] == [
            {"Fn::GetAtt": ["TaskRole", "Arn"]}, {"Fn::GetAtt": ["TaskExecutionRole", "Arn"]},
        ]  # fmt: skip
    assert statements(template, "EventsRole")["StartTheDailyRun"]["Resource"] == {"Ref": "StateMachine"}
    assert statements(template, "StateMachineRole")["WaitForTasks"]["Resource"]["Fn::Sub"].endswith(
        ":rule/StepFunctionsGetEventsForECSTaskRule"
    )
    copy = statements(template, "RedshiftCopyRole")
    assert copy["ReadStagedFiles"] == {
        "Sid": "ReadStagedFiles", "Effect": "Allow", "Action": ["s3:GetObject"],
        "Resource": {"Fn::Sub": "arn:${AWS::Partition}:s3:::${LandingBucket}/_stage/*"},
    }  # fmt: skip
    assert copy["ListTheseKeys"]["Condition"] == {"StringLike": {"s3:prefix": ["_stage/*"]}}
    trust = template["Resources"]["RedshiftCopyRole"]["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "redshift.amazonaws.com"}


def test_the_state_machine_and_schedules_are_the_generated_ones(template: dict[str, Any]) -> None:
    machine = template["Resources"]["StateMachine"]["Properties"]
    assert machine["Definition"] == state_machine(DEFAULTS)
    placeholders = set(re.findall(r"\$\{(\w+)\}", json.dumps(machine["Definition"])))
    assert placeholders == set(machine["DefinitionSubstitutions"]) == {
        "ClusterArn", "TaskDefinitionArn", "SubnetId", "SecurityGroupId",
    }  # fmt: skip
    rules = resources_of(template, "AWS::Events::Rule")
    assert sorted(rule["ScheduleExpression"] for rule in rules.values()) == sorted(
        rule["ScheduleExpression"] for rule in schedules(DEFAULTS).values()
    )
    [daily] = rules["DailySchedule"]["Targets"]
    assert (daily["Arn"], daily["RoleArn"]) == (
        {"Ref": "StateMachine"},
        {"Fn::GetAtt": ["EventsRole", "Arn"]},
    )
    [sla] = rules["SlaSchedule"]["Targets"]
    assert sla["EcsParameters"]["NetworkConfiguration"]["AwsVpcConfiguration"]["Subnets"] == [
        {"Ref": "SubnetId"}
    ]
    assert json.loads(sla["Input"])["containerOverrides"][0]["command"] == ["status", "--check-sla"]


def test_the_alarms_watch_the_runners_metrics_and_tell_their_topics(template: dict[str, Any]) -> None:
    alarms = {a["MetricName"]: a for a in resources_of(template, "AWS::CloudWatch::Alarm").values()}
    assert {
        metric: (a["Statistic"], a["ComparisonOperator"], a["Threshold"], a["AlarmActions"][0]["Ref"])
        for metric, a in alarms.items()
    } == {
        "RunFailed": ("Sum", "GreaterThanOrEqualToThreshold", 1, "PipelineTopic"),
        "SlaMissed": ("Maximum", "GreaterThanOrEqualToThreshold", 1, "PipelineTopic"),
        "FilesQuarantined": ("Sum", "GreaterThanOrEqualToThreshold", 1, "DataQualityTopic"),
        "RunDurationToMedian": ("Maximum", "GreaterThanThreshold", 2, "PipelineTopic"),
    }
    for alarm in alarms.values():
        assert (alarm["Namespace"], alarm["TreatMissingData"], alarm["Period"]) == (
            "ShopWarehouse", "notBreaching", 86400,
        )  # fmt: skip
        assert alarm["Dimensions"] == [{"Name": "Environment", "Value": {"Ref": "Environment"}}]


@pytest.mark.parametrize("target", ["redshift", "snowflake"])
def test_the_task_is_given_every_setting_its_production_profile_requires(
    template: dict[str, Any], target: str
) -> None:
    # GIVEN the variables profiles.yml.example's target (the image's profile) reads with no default
    outputs = yaml.safe_load((REPO / "profiles.yml.example").read_text())["shopwarehouse"]["outputs"]
    required = set(re.findall(r"env_var\('(\w+)'\)", json.dumps(outputs[target])))
    # THEN the task's environment (Redshift) or the environment's secret (Snowflake) gives each: a task
    # started without one stops at the profile
    [container] = template["Resources"]["TaskDefinition"]["Properties"]["ContainerDefinitions"]
    given = {variable["Name"] for variable in container["Environment"]}
    condition, on_redshift, on_snowflake = container["Secrets"]["Fn::If"]
    assert (condition, on_redshift) == ("IsRedshift", {"Ref": "AWS::NoValue"})
    arn = "secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:shopwarehouse/${Environment}/snowflake"
    for variable in on_snowflake:
        assert variable["ValueFrom"]["Fn::Sub"].endswith(f"{arn}:{variable['Name']}::")
    if target == "snowflake":
        given |= {variable["Name"] for variable in on_snowflake}
        assert "SNOWFLAKE_PRIVATE_KEY" in required  # the key itself: ECS puts no secret in a file
    assert required
    assert required <= given, sorted(required - given)


def test_the_log_groups_keep_their_logs_for_the_retention_given(template: dict[str, Any]) -> None:
    groups = resources_of(template, "AWS::Logs::LogGroup")
    assert len(groups) == 2
    for group in groups.values():
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}
        assert group["KmsKeyId"] == {"Fn::GetAtt": ["Key", "Arn"]}
    assert template["Parameters"]["LogRetentionDays"]["Default"] == "90"


# -- cfn-lint and checkov -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed template with faults each tool must report: for checkov, the bucket open to public
    ACLs and policies; for cfn-lint, an alarm's unknown comparison and references to a log group removed.
    (Neither reports a bucket without BucketEncryption: S3 encrypts new objects by default since 2023.)"""
    template = yaml.safe_load(TEMPLATE.read_text())
    bucket = template["Resources"]["LandingBucket"]["Properties"]
    bucket["PublicAccessBlockConfiguration"] = dict.fromkeys(bucket["PublicAccessBlockConfiguration"], False)
    template["Resources"]["RunFailedAlarm"]["Properties"]["ComparisonOperator"] = "AtLeast"
    del template["Resources"]["TaskLogGroup"]
    path = tmp_path_factory.mktemp("broken") / "broken.yaml"
    path.write_text(yaml.safe_dump(template, sort_keys=False))
    return path


def test_cfn_lint_finds_nothing_in_the_template_and_reports_a_broken_one(broken: Path) -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), "--format", "json", str(TEMPLATE), str(broken)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode in (2, 6, 10, 14), result.stderr  # errors found (bit 2); 1: cfn-lint failed
    found: dict[str, set[str]] = {}
    for match in json.loads(result.stdout):
        found.setdefault(Path(match["Filename"]).name, set()).add(f"{match['Level']} {match['Rule']['Id']}")
    assert TEMPLATE.name not in found  # no error, no warning, no informational finding
    # GetAtt and Ref of a missing resource, a value the property does not take
    assert {"Error E1010", "Error E1020", "Error E3030"} <= found[broken.name]


def test_checkov_fails_no_check_and_reports_a_bucket_open_to_the_public(broken: Path, tmp_path: Path) -> None:
    assert CHECKOV.exists(), "run `make test` (it installs checkov in .venv-checkov)"
    (tmp_path / "committed.yaml").write_text(TEMPLATE.read_text())
    (tmp_path / "broken.yaml").write_text(broken.read_text())
    # No network: no Prisma Cloud download or upload (no API key is given either), no version check.
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "BC_SKIP_MAPPING": "TRUE",
           "CKV_SKIP_PACKAGE_UPDATE_CHECK": "TRUE"}  # fmt: skip
    result = subprocess.run(
        [str(CHECKOV), "--directory", str(tmp_path), "--framework", "cloudformation", "--quiet",
         "--compact", "--skip-download", "--skip-results-upload", "--output", "json"],
        capture_output=True, text=True, env=env, check=False, timeout=300,
    )  # fmt: skip
    assert result.returncode in (0, 1), result.stderr  # 1: some check failed
    report = json.loads(result.stdout)["results"]
    failed: dict[str, set[str]] = {}
    for check in report["failed_checks"]:
        failed.setdefault(Path(check["file_path"]).name, set()).add(check["check_id"])
    assert failed == {"broken.yaml": {"CKV_AWS_53", "CKV_AWS_54", "CKV_AWS_55", "CKV_AWS_56"}}
    summary = json.loads(result.stdout)["summary"]
    # Both files parsed and checked; the two skips of each (CKV_AWS_18, CKV_AWS_21) are the template's own
    assert (summary["parsing_errors"], summary["skipped"]) == (0, 4)
    assert summary["passed"] > 2 * 40


# -- deployed to the local server, and used by a run --------------------------------------------------------

RUN_DAY = date(2024, 3, 1)


def resolve(value: Any, names: dict[str, str]) -> Any:
    """``value`` with its ``Ref`` and ``Fn::Sub`` resolved from ``names`` (what the test needs of them)."""
    if isinstance(value, dict) and set(value) == {"Ref"}:
        return names[value["Ref"]]
    if isinstance(value, dict) and set(value) == {"Fn::Sub"}:
        return re.sub(r"\$\{([\w:]+)\}", lambda m: names[m[1]], value["Fn::Sub"])
    if isinstance(value, dict):
        return {key: resolve(item, names) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, names) for item in value]
    return value


@pytest.mark.slow
def test_the_stack_deploys_and_a_run_notifies_its_topic(
    s3_endpoint: str, template: dict[str, Any], tmp_path: Path
) -> None:
    # GIVEN the committed template deployed as the dev stack on the local server's CloudFormation
    cloudformation = aws_client("cloudformation", s3_endpoint)
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shopwarehouse:1"
    parameters = {"Environment": "dev", "Image": image,
                  "SubnetId": "subnet-0123456789abcdef0", "SecurityGroupId": "sg-0123456789abcdef0",
                  "Target": "redshift", "RedshiftClusterId": "warehouse",
                  "RedshiftHost": "warehouse.abc123.us-east-1.redshift.amazonaws.com"}  # fmt: skip
    cloudformation.create_stack(
        StackName="shopwarehouse-dev",
        TemplateBody=TEMPLATE.read_text(),
        Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in parameters.items()],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    deadline = time.monotonic() + 60
    while (stack := cloudformation.describe_stacks(StackName="shopwarehouse-dev")["Stacks"][0])[
        "StackStatus"
    ] == "CREATE_IN_PROGRESS" and time.monotonic() < deadline:
        time.sleep(0.5)
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack["Outputs"]}
    bucket = outputs["LandingBucket"]
    assert bucket == "shopwarehouse-dev-landing-123456789012"
    assert outputs["MetricNamespace"] == "ShopWarehouse"

    # THEN the bucket is encrypted by default (moto's CloudFormation applies BucketEncryption)
    s3 = make_client(s3_endpoint)
    [rule] = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    # moto 5.2.5's CloudFormation leaves out the bucket's lifecycle rules and public access block, the
    # bucket policy and the alarms (it does not support AWS::S3::BucketPolicy nor AWS::CloudWatch::Alarm).
    # The test applies the template's own properties through the S3 and CloudWatch APIs, as CloudFormation
    # would: the APIs check them (botocore against each service's model, the server by applying them).
    names = {"Environment": "dev", "LandingBucket": bucket, "AWS::Partition": "aws",
             "PipelineTopic": outputs["PipelineTopicArn"],
             "DataQualityTopic": outputs["DataQualityTopicArn"]}  # fmt: skip
    properties = template["Resources"]["LandingBucket"]["Properties"]
    s3.put_public_access_block(
        Bucket=bucket, PublicAccessBlockConfiguration=properties["PublicAccessBlockConfiguration"]
    )
    rules = [{"ID": r["Id"], "Status": r["Status"], "Filter": {"Prefix": r.get("Prefix", "")},
              **({"Expiration": {"Days": r["ExpirationInDays"]}} if "ExpirationInDays" in r else {}),
              **{k: v for k, v in r.items() if k == "AbortIncompleteMultipartUpload"}}
             for r in properties["LifecycleConfiguration"]["Rules"]]  # fmt: skip
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": rules})  # type: ignore[typeddict-item]
    applied = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert {r["Filter"]["Prefix"]: r["Expiration"]["Days"] for r in applied if "Expiration" in r} == {
        "raw/": 30, "quarantine/": 90, "_stage/": 2, "silver/": 365, "gold/": 1095,
    }  # fmt: skip
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    # The TLS-only policy refuses a write over plain HTTP, which is all the local server speaks. The test
    # shows that, then removes the policy (a step of this test only: the stack keeps it) to land files.
    policy = resolve(template["Resources"]["LandingBucketPolicy"]["Properties"]["PolicyDocument"], names)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    with pytest.raises(botocore.exceptions.ClientError, match="Forbidden"):
        s3.put_object(Bucket=bucket, Key="raw/probe.csv", Body=b"x")
    s3.delete_bucket_policy(Bucket=bucket)
    cloudwatch = aws_client("cloudwatch", s3_endpoint)
    for alarm in resources_of(template, "AWS::CloudWatch::Alarm").values():
        cloudwatch.put_metric_alarm(**resolve(alarm, names))
    described = cloudwatch.describe_alarms(AlarmNamePrefix="shopwarehouse-dev-")["MetricAlarms"]
    assert {a["MetricName"]: a["AlarmActions"] for a in described} == {
        "RunFailed": [outputs["PipelineTopicArn"]], "SlaMissed": [outputs["PipelineTopicArn"]],
        "FilesQuarantined": [outputs["DataQualityTopicArn"]],
        "RunDurationToMedian": [outputs["PipelineTopicArn"]],
    }  # fmt: skip

    # The task definition wires the run to the stack; the state machine and schedules are there
    ecs = aws_client("ecs", s3_endpoint)
    [container] = ecs.describe_task_definition(taskDefinition=outputs["TaskDefinitionArn"])["taskDefinition"][
        "containerDefinitions"
    ]
    task_env = {variable["name"]: variable["value"] for variable in container["environment"]}
    assert {name: value for name, value in task_env.items() if name.startswith("SHOPWAREHOUSE_")} == {
        "SHOPWAREHOUSE_ENV": "dev",
        "SHOPWAREHOUSE_LANDING": f"s3://{bucket}",
        "SHOPWAREHOUSE_TARGET": "redshift",
        "SHOPWAREHOUSE_NOTIFY_SNS_TOPIC_ARN": outputs["PipelineTopicArn"],
        "SHOPWAREHOUSE_NOTIFY_DQ_SNS_TOPIC_ARN": outputs["DataQualityTopicArn"],
        "SHOPWAREHOUSE_METRICS_NAMESPACE": "ShopWarehouse",
        "SHOPWAREHOUSE_REDSHIFT_IAM_ROLE": outputs["RedshiftCopyRoleArn"],
        "SHOPWAREHOUSE_SLA_DEADLINE_UTC": "06:00",
    }
    assert container["image"] == parameters["Image"]
    # (moto's CloudFormation keeps no Definition of a state machine: its content is checked above and by
    # asl-validator in test_orchestrate.)
    states = aws_client("stepfunctions", s3_endpoint).describe_state_machine(
        stateMachineArn=outputs["StateMachineArn"]
    )
    assert states["roleArn"].endswith(":role/shopwarehouse-dev-states")
    events = aws_client("events", s3_endpoint)
    scheduled = {
        r["Name"]: r["ScheduleExpression"]
        for r in events.list_rules(NamePrefix="shopwarehouse-dev-")["Rules"]
    }
    assert scheduled == {
        "shopwarehouse-dev-daily": "cron(0 2 * * ? *)",
        "shopwarehouse-dev-sla": "cron(0 6 * * ? *)",
    }
    [target] = events.list_targets_by_rule(Rule="shopwarehouse-dev-daily")["Targets"]
    assert target["Arn"] == outputs["StateMachineArn"]

    # WHEN a queue subscribes to the pipeline topic, a day lands, and `shopwarehouse run` runs with the
    # task's settings (on DuckDB: the stack's Redshift is not here)
    inbox = topic_inbox(s3_endpoint, outputs["PipelineTopicArn"], "shopwarehouse-dev-inbox")
    landing = open_landing(Settings(landing=task_env["SHOPWAREHOUSE_LANDING"], s3_endpoint_url=s3_endpoint))
    generate(
        landing, GenerateOptions(start=RUN_DAY, days=1, seed=11, orders_per_day=30, clickstream_scale=0.05)
    )
    env = {**task_env, **duckdb_env(tmp_path, task_env["SHOPWAREHOUSE_LANDING"]),
           "SHOPWAREHOUSE_S3_ENDPOINT_URL": s3_endpoint}  # fmt: skip
    cli("run", "--date", RUN_DAY.isoformat(), env=env)

    # THEN the run's notice arrives on the topic
    [envelope] = inbox(wait_seconds=5)
    assert envelope["TopicArn"] == outputs["PipelineTopicArn"]
    notice = orjson.loads(envelope["Message"])
    assert (notice["kind"], notice["run_date"]) == ("run", RUN_DAY.isoformat())
    assert notice["status"] in ("succeeded", "warned"), notice
    assert notice["rows_loaded"] > 0
    # AND its metrics are in the stack's namespace, with the dimensions the alarms read
    started = datetime.fromisoformat(notice["started_at"])  # the notice is sent before the run finishes
    window = (started - timedelta(minutes=5), started + timedelta(hours=1))

    def metric(name: str, **dimensions: str) -> float:
        return sum(read_metric(s3_endpoint, outputs["MetricNamespace"], name,
                               {"Environment": "dev", **dimensions}, *window))  # fmt: skip

    assert (metric("RunSucceeded"), metric("RunFailed"), metric("FilesQuarantined")) == (1, 0, 0)
    assert metric("TestsPassed") == notice["tests_passed"] > 100
    assert sum(metric("RowsLoaded", Entity=entity) for entity in ENTITIES) == notice["rows_loaded"]
    assert metric("StepSucceeded", Step="build") == 1
