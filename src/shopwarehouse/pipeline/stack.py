"""The AWS deployment as one CloudFormation template, made from the same definitions as the rest of
``deploy/``: the landing bucket's lifecycle rules and lock-down (:mod:`shopwarehouse.landing.s3`), the key
prefixes (:mod:`shopwarehouse.landing.contract`), the Step Functions state machine and the EventBridge
schedules (:mod:`shopwarehouse.pipeline.orchestrate`).

Every name carries the ``Environment`` parameter (dev, staging, prod), so the three stacks live side by side
in one account. The task runs on ECS Fargate; the warehouse is Redshift or Snowflake (a daily task's disk
does not outlive it, so the embedded DuckDB is no target here).

The template is plain YAML: intrinsic functions in their long form (``Fn::Sub``, ``Fn::GetAtt``), which any
YAML reader loads without CloudFormation's short tags.
"""

from __future__ import annotations

from typing import Any

import yaml

from shopwarehouse.config import Settings
from shopwarehouse.landing.contract import QUARANTINE_PREFIX, RAW_PREFIX, STAGE_PREFIX
from shopwarehouse.landing.s3 import (
    ENCRYPTION_RULE,
    PUBLIC_ACCESS_BLOCK,
    lifecycle_rules,
    tls_only_policy,
)
from shopwarehouse.pipeline.orchestrate import CONTAINER, HEADER, schedules, state_machine

ENVIRONMENTS = ("dev", "staging", "prod")
STACK_TARGETS = ("redshift", "snowflake")
METRIC_NAMESPACE = "ShopWarehouse"
NAME = "shopwarehouse-${Environment}"
"""The prefix of every name in the stack (``Fn::Sub``)."""
ALARM_PERIOD_SECONDS = 86400
"""The runner reports once a day, so each alarm looks at one day."""
LOG_RETENTION_DAYS = (30, 60, 90, 180, 365, 731, 1827, 3653)
ECS_TASKS = "ecs-tasks.amazonaws.com"

# The warehouse connection, as the profiles of profiles.yml.example read it. Redshift logs in with IAM (the
# task role's temporary credentials): the stack's parameters name the cluster and user, and no secret is
# needed. Snowflake logs in with a key pair: these keys of the secret shopwarehouse/<environment>/snowflake
# (Secrets Manager, JSON), which the operator creates, become the task's environment variables when it
# starts, the private key's PEM text among them (ECS cannot put a secret in a file).
REDSHIFT_SETTINGS = {
    "REDSHIFT_CLUSTER_ID": "RedshiftClusterId",
    "REDSHIFT_HOST": "RedshiftHost",
    "REDSHIFT_USER": "RedshiftDbUser",
}
SNOWFLAKE_SECRET_KEYS = (
    "SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER", "SNOWFLAKE_PRIVATE_KEY", "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE",
)  # fmt: skip
SNOWFLAKE_SETTINGS_ARN = (
    "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}:secret:"
    "shopwarehouse/${Environment}/snowflake"
)

# The alarms on the runner's metrics (namespace ShopWarehouse, dimension Environment): metric, statistic,
# comparison with the threshold, the topic told, and what the alarm means.
ALARMS = {
    "RunFailedAlarm": ("RunFailed", "Sum", "GreaterThanOrEqualToThreshold", 1, "PipelineTopic",
                       "A daily run failed: see the run's notice and ops.pipeline_steps."),
    "SlaMissedAlarm": ("SlaMissed", "Maximum", "GreaterThanOrEqualToThreshold", 1, "PipelineTopic",
                       "A day's data was not available by the promised time."),
    "FilesQuarantinedAlarm": ("FilesQuarantined", "Sum", "GreaterThanOrEqualToThreshold", 1,
                              "DataQualityTopic", "Landed files were quarantined: see quarantine/."),
    "RunDurationAlarm": ("RunDurationToMedian", "Maximum", "GreaterThanThreshold", 2, "PipelineTopic",
                         "A run took more than twice the median duration of the runs of the 7 days before."),
}  # fmt: skip


def sub(text: str) -> dict[str, str]:
    return {"Fn::Sub": text}


def ref(name: str) -> dict[str, str]:
    return {"Ref": name}


def arn(name: str) -> dict[str, list[str]]:
    return {"Fn::GetAtt": [name, "Arn"]}


def _subs(value: Any) -> Any:
    """``value`` with each string that names a ``${...}`` made an ``Fn::Sub``."""
    if isinstance(value, dict):
        return {key: _subs(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_subs(item) for item in value]
    if isinstance(value, str) and "${" in value:
        return sub(value)
    return value


def _statement(sid: str, actions: list[str], resources: Any, **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resources, **extra}


def _role(service: str, statements: list[Any], description: str, name: str) -> dict[str, Any]:
    """An IAM role that ``service`` assumes for this account only, with one inline policy."""
    return {
        "Type": "AWS::IAM::Role",
        "Properties": {
            "RoleName": sub(f"{NAME}-{name}"),
            "Description": description,
            "AssumeRolePolicyDocument": {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": service},
                        "Action": "sts:AssumeRole",
                        "Condition": {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}},
                    }
                ],
            },
            "Policies": [
                {
                    "PolicyName": name,
                    "PolicyDocument": {"Version": "2012-10-17", "Statement": statements},
                }
            ],
        },
    }


def _objects(prefix: str) -> dict[str, str]:
    return sub(f"arn:${{AWS::Partition}}:s3:::${{LandingBucket}}/{prefix}*")


def _listing(prefixes: list[str]) -> dict[str, Any]:
    """s3:ListBucket on the landing bucket, for keys under ``prefixes`` only."""
    return _statement(
        "ListTheseKeys",
        ["s3:ListBucket"],
        arn("LandingBucket"),
        Condition={"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in prefixes]}},
    )


def _pass_task_roles() -> dict[str, Any]:
    return _statement(
        "PassTheTaskRoles",
        ["iam:PassRole"],
        [arn("TaskRole"), arn("TaskExecutionRole")],
        Condition={"StringEquals": {"iam:PassedToService": ECS_TASKS}},
    )


def _run_the_task() -> dict[str, Any]:
    return _statement(
        "RunTheTask",
        ["ecs:RunTask"],
        ref("TaskDefinition"),
        Condition={"ArnEquals": {"ecs:cluster": arn("Cluster")}},
    )


def _parameters() -> dict[str, Any]:
    return {
        "Environment": {
            "Type": "String",
            "AllowedValues": list(ENVIRONMENTS),
            "Default": "dev",
            "Description": "The environment; every name in the stack carries it.",
        },
        "Image": {
            "Type": "String",
            "Description": "The shopwarehouse image (ECR URI with its tag or digest) the tasks run.",
        },
        "SubnetId": {
            "Type": "AWS::EC2::Subnet::Id",
            "Description": "The subnet of the tasks: private, with a route to ECR, S3, SNS, CloudWatch, "
            "Secrets Manager and the warehouse (NAT gateway or VPC endpoints).",
        },
        "SecurityGroupId": {
            "Type": "AWS::EC2::SecurityGroup::Id",
            "Description": "The tasks' security group: outbound HTTPS and the warehouse's port.",
        },
        "Target": {
            "Type": "String",
            "AllowedValues": list(STACK_TARGETS),
            "Default": STACK_TARGETS[0],
            "Description": "The dbt profile target the task builds (SHOPWAREHOUSE_TARGET).",
        },
        "RedshiftClusterId": {
            "Type": "String",
            "Default": "",
            "AllowedPattern": "[a-z0-9-]*",
            "Description": "Target redshift: the cluster's identifier.",
        },
        "RedshiftHost": {
            "Type": "String",
            "Default": "",
            "Description": "Target redshift: the cluster's endpoint host name.",
        },
        "RedshiftDbUser": {
            "Type": "String",
            "Default": "shopwarehouse",
            "AllowedPattern": "[a-z_][a-z0-9_$]*",
            "Description": "Target redshift: the database user the task logs in as, with IAM credentials.",
        },
        "LogRetentionDays": {
            "Type": "Number",
            "AllowedValues": [str(days) for days in LOG_RETENTION_DAYS],
            "Default": "90",
            "Description": "How long the tasks' and the state machine's logs are kept.",
        },
        "TaskCpu": {
            "Type": "String",
            "AllowedValues": ["512", "1024", "2048", "4096"],
            "Default": "1024",
            "Description": "The task's vCPU units (1024 = 1 vCPU).",
        },
        "TaskMemory": {
            "Type": "String",
            "Default": "4096",
            "AllowedPattern": "[0-9]+",
            "Description": "The task's memory (MiB); Fargate accepts 2 to 8 GiB per vCPU.",
        },
    }


def _bucket() -> dict[str, Any]:
    encryption = dict(ENCRYPTION_RULE)
    by_default = encryption.pop("ApplyServerSideEncryptionByDefault")
    rules = []
    for rule in lifecycle_rules(""):
        cfn: dict[str, Any] = {"Id": rule["ID"], "Status": rule["Status"]}
        prefix = rule["Filter"]["Prefix"]  # type: ignore[index]
        if prefix:
            cfn["Prefix"] = prefix
        if "Expiration" in rule:
            cfn["ExpirationInDays"] = rule["Expiration"]["Days"]  # type: ignore[index]
        if "AbortIncompleteMultipartUpload" in rule:
            cfn["AbortIncompleteMultipartUpload"] = rule["AbortIncompleteMultipartUpload"]
        rules.append(cfn)
    return {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Metadata": {
            "checkov": {
                "skip": [
                    {
                        "id": "CKV_AWS_18",
                        "comment": "Access logging needs a log bucket of its own, which belongs to the "
                        "account's logging set-up (an access-log bucket or CloudTrail data events), not to "
                        "this stack.",
                    },
                    {
                        "id": "CKV_AWS_21",
                        "comment": "No versioning: the lifecycle rules promise that expired exports, "
                        "quarantined files and staged COPY files are gone after their days; versioning "
                        "would keep them as noncurrent versions. `shopwarehouse s3 init` does not enable "
                        "it either.",
                    },
                ]
            }
        },
        "Properties": {
            "BucketName": sub(f"{NAME}-landing-${{AWS::AccountId}}"),
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": by_default, **encryption}
                ]
            },
            "PublicAccessBlockConfiguration": dict(PUBLIC_ACCESS_BLOCK),
            "LifecycleConfiguration": {"Rules": rules},
        },
    }


def _resources(settings: Settings) -> dict[str, Any]:
    key_admin = {
        "Sid": "AccountAdministersTheKey",
        "Effect": "Allow",
        "Principal": {"AWS": sub("arn:${AWS::Partition}:iam::${AWS::AccountId}:root")},
        "Action": "kms:*",
        "Resource": "*",
    }
    logs_use_key = {
        "Sid": "LogsEncryptTheStacksLogGroups",
        "Effect": "Allow",
        "Principal": {"Service": sub("logs.${AWS::Region}.amazonaws.com")},
        "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
        "Resource": "*",
        "Condition": {
            "ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": sub(
                    f"arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:*{NAME}*"
                )
            }
        },
    }
    alarms_use_key = {
        "Sid": "AlarmsPublishToTheEncryptedTopics",
        "Effect": "Allow",
        "Principal": {"Service": "cloudwatch.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {"StringEquals": {"aws:SourceAccount": ref("AWS::AccountId")}},
    }
    resources: dict[str, Any] = {
        "Key": {
            "Type": "AWS::KMS::Key",
            "Properties": {
                "Description": sub(f"{NAME}: the topics and log groups of the stack"),
                "EnableKeyRotation": True,
                "KeyPolicy": {
                    "Version": "2012-10-17",
                    "Statement": [key_admin, logs_use_key, alarms_use_key],
                },
            },
        },
        "KeyAlias": {
            "Type": "AWS::KMS::Alias",
            "Properties": {"AliasName": sub(f"alias/{NAME}"), "TargetKeyId": ref("Key")},
        },
        "LandingBucket": _bucket(),
        "LandingBucketPolicy": {
            "Type": "AWS::S3::BucketPolicy",
            "Properties": {
                "Bucket": ref("LandingBucket"),
                "PolicyDocument": _subs(tls_only_policy("${LandingBucket}")),
            },
        },
        "PipelineTopic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {
                "TopicName": sub(f"{NAME}-pipeline"),
                "DisplayName": sub("shopwarehouse ${Environment}: runs"),
                "KmsMasterKeyId": ref("Key"),
            },
        },
        "DataQualityTopic": {
            "Type": "AWS::SNS::Topic",
            "Properties": {
                "TopicName": sub(f"{NAME}-data-quality"),
                "DisplayName": sub("shopwarehouse ${Environment}: data quality"),
                "KmsMasterKeyId": ref("Key"),
            },
        },
        "TaskLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                "LogGroupName": sub(f"/{NAME}/tasks"),
                "RetentionInDays": ref("LogRetentionDays"),
                "KmsKeyId": arn("Key"),
            },
        },
        "StateMachineLogGroup": {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {
                # The prefix AWS recommends for vended logs: it keeps the log resource policy small.
                "LogGroupName": sub(f"/aws/vendedlogs/states/{NAME}-daily"),
                "RetentionInDays": ref("LogRetentionDays"),
                "KmsKeyId": arn("Key"),
            },
        },
        "Cluster": {
            "Type": "AWS::ECS::Cluster",
            "Properties": {
                "ClusterName": sub(NAME),
                "ClusterSettings": [{"Name": "containerInsights", "Value": "enabled"}],
            },
        },
        "TaskExecutionRole": {
            **_role(
                ECS_TASKS,
                [
                    # GetAuthorizationToken names no resource: AWS accepts only "*" for it.
                    _statement("SignInToEcr", ["ecr:GetAuthorizationToken"], "*"),
                    _statement(
                        "PullTheImage",
                        [
                            "ecr:BatchCheckLayerAvailability",
                            "ecr:GetDownloadUrlForLayer",
                            "ecr:BatchGetImage",
                        ],
                        sub("arn:${AWS::Partition}:ecr:${AWS::Region}:${AWS::AccountId}:repository/*"),
                    ),
                    _statement(
                        "WriteTheTaskLogs", ["logs:CreateLogStream", "logs:PutLogEvents"], arn("TaskLogGroup")
                    ),
                    {
                        "Fn::If": [
                            "IsRedshift",
                            ref("AWS::NoValue"),
                            # Secrets Manager ends a secret's ARN with six random characters.
                            _statement(
                                "ReadTheWarehouseSecret",
                                ["secretsmanager:GetSecretValue"],
                                sub(f"{SNOWFLAKE_SETTINGS_ARN}-??????"),
                            ),
                        ]
                    },
                ],
                "Starts the shopwarehouse task: pulls its image, writes its logs, reads the Snowflake "
                "secret.",
                "task-execution",
            ),
        },
        "TaskRole": _role(
            ECS_TASKS,
            [
                _listing([RAW_PREFIX, QUARANTINE_PREFIX, STAGE_PREFIX]),
                _statement("ReadTheExports", ["s3:GetObject"], _objects(RAW_PREFIX)),
                _statement("WriteQuarantinedFiles", ["s3:PutObject"], _objects(QUARANTINE_PREFIX)),
                _statement(
                    "StageFilesForCopy",
                    ["s3:PutObject", "s3:GetObject", "s3:DeleteObject"],
                    _objects(STAGE_PREFIX),
                ),
                _statement("Notify", ["sns:Publish"], [ref("PipelineTopic"), ref("DataQualityTopic")]),
                _statement("PublishToEncryptedTopics", ["kms:GenerateDataKey", "kms:Decrypt"], arn("Key")),
                # PutMetricData names no resource; the condition keeps the task to its own namespace.
                _statement(
                    "PutItsMetrics",
                    ["cloudwatch:PutMetricData"],
                    "*",
                    Condition={"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}},
                ),
                {
                    "Fn::If": [
                        "IsRedshift",
                        _statement(
                            "LogInToRedshift",
                            ["redshift:GetClusterCredentials"],
                            [
                                sub(
                                    "arn:${AWS::Partition}:redshift:${AWS::Region}:${AWS::AccountId}:dbuser:"
                                    "${RedshiftClusterId}/${RedshiftDbUser}"
                                ),
                                sub(
                                    "arn:${AWS::Partition}:redshift:${AWS::Region}:${AWS::AccountId}:dbname:"
                                    "${RedshiftClusterId}/*"
                                ),
                            ],
                        ),
                        ref("AWS::NoValue"),
                    ]
                },
            ],
            "The shopwarehouse run: reads raw/, writes quarantine/ and _stage/, publishes to the stack's "
            "topics and its metrics.",
            "task",
        ),
        "RedshiftCopyRole": {
            **_role(
                "redshift.amazonaws.com",
                [
                    _listing([STAGE_PREFIX]),
                    _statement("ReadStagedFiles", ["s3:GetObject"], _objects(STAGE_PREFIX)),
                ],
                "Redshift's COPY of the files the loaders stage under _stage/.",
                "redshift-copy",
            ),
            "Condition": "IsRedshift",
        },
        "TaskDefinition": {
            "Type": "AWS::ECS::TaskDefinition",
            "Properties": {
                "Family": sub(NAME),
                "RequiresCompatibilities": ["FARGATE"],
                "NetworkMode": "awsvpc",
                "Cpu": ref("TaskCpu"),
                "Memory": ref("TaskMemory"),
                "ExecutionRoleArn": arn("TaskExecutionRole"),
                "TaskRoleArn": arn("TaskRole"),
                "ContainerDefinitions": [_container(settings)],
            },
        },
        "StateMachineRole": _role(
            "states.amazonaws.com",
            [
                _run_the_task(),
                _statement(
                    "FollowItsTasks",
                    ["ecs:StopTask", "ecs:DescribeTasks"],
                    sub(f"arn:${{AWS::Partition}}:ecs:${{AWS::Region}}:${{AWS::AccountId}}:task/{NAME}/*"),
                ),
                _pass_task_roles(),
                # runTask.sync learns that a task stopped through this rule, which Step Functions manages.
                _statement(
                    "WaitForTasks",
                    ["events:PutTargets", "events:PutRule", "events:DescribeRule"],
                    sub(
                        "arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/"
                        "StepFunctionsGetEventsForECSTaskRule"
                    ),
                ),
                # Log delivery's calls name no resource: AWS accepts only "*" for them.
                _statement(
                    "DeliverItsLogs",
                    [
                        "logs:CreateLogDelivery",
                        "logs:GetLogDelivery",
                        "logs:UpdateLogDelivery",
                        "logs:DeleteLogDelivery",
                        "logs:ListLogDeliveries",
                        "logs:PutResourcePolicy",
                        "logs:DescribeResourcePolicies",
                        "logs:DescribeLogGroups",
                    ],
                    "*",
                ),
            ],
            "The daily state machine: runs the stack's task, one per step.",
            "states",
        ),
        "StateMachine": {
            "Type": "AWS::StepFunctions::StateMachine",
            "Properties": {
                "StateMachineName": sub(f"{NAME}-daily"),
                "StateMachineType": "STANDARD",
                "RoleArn": arn("StateMachineRole"),
                "Definition": state_machine(settings),
                "DefinitionSubstitutions": {
                    "ClusterArn": arn("Cluster"),
                    "TaskDefinitionArn": ref("TaskDefinition"),
                    "SubnetId": ref("SubnetId"),
                    "SecurityGroupId": ref("SecurityGroupId"),
                },
                "LoggingConfiguration": {
                    "Level": "ERROR",
                    "IncludeExecutionData": False,
                    "Destinations": [
                        {"CloudWatchLogsLogGroup": {"LogGroupArn": arn("StateMachineLogGroup")}}
                    ],
                },
                "TracingConfiguration": {"Enabled": False},
            },
        },
        "EventsRole": _role(
            "events.amazonaws.com",
            [
                _statement("StartTheDailyRun", ["states:StartExecution"], ref("StateMachine")),
                _run_the_task(),
                _pass_task_roles(),
            ],
            "The schedules: start the daily state machine, and the SLA check's task.",
            "events",
        ),
    }
    resources |= _rules(settings)
    resources |= _alarms()
    return resources


def _container(settings: Settings) -> dict[str, Any]:
    environment = {
        "SHOPWAREHOUSE_ENV": ref("Environment"),
        "SHOPWAREHOUSE_LANDING": sub("s3://${LandingBucket}"),
        "SHOPWAREHOUSE_TARGET": ref("Target"),
        "SHOPWAREHOUSE_NOTIFY_SNS_TOPIC_ARN": ref("PipelineTopic"),
        "SHOPWAREHOUSE_NOTIFY_DQ_SNS_TOPIC_ARN": ref("DataQualityTopic"),
        "SHOPWAREHOUSE_METRICS_NAMESPACE": METRIC_NAMESPACE,
        "SHOPWAREHOUSE_REDSHIFT_IAM_ROLE": {"Fn::If": ["IsRedshift", arn("RedshiftCopyRole"), "default"]},
        # The promise the SLA schedule checks, as the template was generated with it.
        "SHOPWAREHOUSE_SLA_DEADLINE_UTC": settings.sla_deadline_utc,
        # Empty, and unread, on Snowflake.
        **{name: ref(parameter) for name, parameter in REDSHIFT_SETTINGS.items()},
    }
    snowflake = [
        {"Name": key, "ValueFrom": sub(f"{SNOWFLAKE_SETTINGS_ARN}:{key}::")} for key in SNOWFLAKE_SECRET_KEYS
    ]
    return {
        "Name": CONTAINER,
        "Image": ref("Image"),
        "Essential": True,
        # The state machine and the SLA schedule give each task its command; alone, the task runs yesterday.
        "Command": ["run"],
        "Environment": [{"Name": name, "Value": value} for name, value in environment.items()],
        "Secrets": {"Fn::If": ["IsRedshift", ref("AWS::NoValue"), snowflake]},
        "LogConfiguration": {
            "LogDriver": "awslogs",
            "Options": {
                "awslogs-group": ref("TaskLogGroup"),
                "awslogs-region": ref("AWS::Region"),
                "awslogs-stream-prefix": CONTAINER,
            },
        },
    }


def _cfn_target(value: Any, refs: dict[str, Any]) -> Any:
    """An EventBridge target of :func:`schedules` as CloudFormation spells it: ``${...}`` placeholders made
    references, and the API's ``awsvpcConfiguration`` CloudFormation's ``AwsVpcConfiguration``."""
    if isinstance(value, dict):
        return {
            ("AwsVpcConfiguration" if key == "awsvpcConfiguration" else key): _cfn_target(item, refs)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_cfn_target(item, refs) for item in value]
    if isinstance(value, str) and value.startswith("${") and value.endswith("}"):
        return refs[value[2:-1]]
    return value


def _rules(settings: Settings) -> dict[str, Any]:
    refs = {
        "StateMachineArn": ref("StateMachine"),
        "EventsRoleArn": arn("EventsRole"),
        "ClusterArn": arn("Cluster"),
        "TaskDefinitionArn": ref("TaskDefinition"),
        "SubnetId": ref("SubnetId"),
        "SecurityGroupId": ref("SecurityGroupId"),
    }
    found = {}
    for name, rule in schedules(settings).items():
        what = name.removeprefix("shopwarehouse-")
        found[f"{what.capitalize()}Schedule"] = {
            "Type": "AWS::Events::Rule",
            "Properties": {
                "Name": sub(f"{NAME}-{what}"),
                "ScheduleExpression": rule["ScheduleExpression"],
                "State": rule["State"],
                "Targets": _cfn_target(rule["Targets"], refs),
            },
        }
    return found


def _alarms() -> dict[str, Any]:
    found = {}
    for name, (metric, statistic, comparison, threshold, topic, description) in ALARMS.items():
        found[name] = {
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": sub(f"{NAME}-{metric}"),
                "AlarmDescription": description,
                "Namespace": METRIC_NAMESPACE,
                "MetricName": metric,
                "Dimensions": [{"Name": "Environment", "Value": ref("Environment")}],
                "Statistic": statistic,
                "Period": ALARM_PERIOD_SECONDS,
                "EvaluationPeriods": 1,
                "ComparisonOperator": comparison,
                "Threshold": threshold,
                # Nothing reported is no alarm: the SLA check itself reports SlaMissed when no run came.
                "TreatMissingData": "notBreaching",
                "AlarmActions": [ref(topic)],
            },
        }
    return found


def _outputs() -> dict[str, Any]:
    outputs = {
        "LandingBucket": (ref("LandingBucket"), "The landing bucket"),
        "LandingUrl": (sub("s3://${LandingBucket}"), "SHOPWAREHOUSE_LANDING"),
        "PipelineTopicArn": (ref("PipelineTopic"), "The runs' notices (SHOPWAREHOUSE_NOTIFY_SNS_TOPIC_ARN)"),
        "DataQualityTopicArn": (ref("DataQualityTopic"), "Data-quality alerts"),
        "MetricNamespace": (METRIC_NAMESPACE, "The CloudWatch namespace of the runs' metrics"),
        "ClusterArn": (arn("Cluster"), "The ECS cluster"),
        "TaskDefinitionArn": (ref("TaskDefinition"), "The task definition"),
        "StateMachineArn": (ref("StateMachine"), "The daily state machine"),
        "TaskLogGroup": (ref("TaskLogGroup"), "The tasks' log group"),
    }
    found: dict[str, Any] = {
        name: {"Description": description, "Value": value} for name, (value, description) in outputs.items()
    }
    found["RedshiftCopyRoleArn"] = {
        "Condition": "IsRedshift",
        "Description": "The role Redshift assumes in COPY (SHOPWAREHOUSE_REDSHIFT_IAM_ROLE)",
        "Value": arn("RedshiftCopyRole"),
    }
    return found


def _rules_of_parameters() -> dict[str, Any]:
    """The connection parameters of Target redshift must be given: CloudFormation refuses the stack before
    it creates anything."""

    def given(parameter: str) -> dict[str, Any]:
        return {
            "Assert": {"Fn::Not": [{"Fn::Equals": [ref(parameter), ""]}]},
            "AssertDescription": f"{parameter} is required with this Target",
        }

    return {
        "RedshiftConnection": {
            "RuleCondition": {"Fn::Equals": [ref("Target"), "redshift"]},
            "Assertions": [given(parameter) for parameter in REDSHIFT_SETTINGS.values()],
        },
    }


def template(settings: Settings) -> dict[str, Any]:
    """The CloudFormation template of one environment's deployment."""
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "shopwarehouse: the landing bucket, the daily run on ECS Fargate under Step "
        "Functions, its schedules, notifications and alarms, for one environment.",
        "Parameters": _parameters(),
        "Conditions": {"IsRedshift": {"Fn::Equals": [ref("Target"), "redshift"]}},
        "Rules": _rules_of_parameters(),
        "Resources": _resources(settings),
        "Outputs": _outputs(),
    }


class _Dumper(yaml.SafeDumper):
    """YAML without anchors and aliases, which CloudFormation rejects: a value used twice is written twice."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def template_yaml(settings: Settings) -> str:
    """:func:`template` as the YAML file committed in ``deploy/cloudformation/``."""
    body = yaml.dump(template(settings), Dumper=_Dumper, sort_keys=False, width=110, allow_unicode=True)
    return f"# {HEADER}\n{body}"
