"""The container image of the AWS deployment (Dockerfile, .dockerignore), checked without a Docker engine:
hadolint over the Dockerfile, what it copies against what the package and dbt read, and the dbt project
parsed from a copy of exactly what the image holds, with the image's profile and environment."""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pytest
import yaml
from support import REPO, free_port

from shopwarehouse.config import Settings
from shopwarehouse.errors import Fault
from shopwarehouse.landing.s3 import aws_client
from shopwarehouse.pipeline.stack import STACK_TARGETS
from shopwarehouse.warehouse import fault_of, open_client

DOCKERFILE = REPO / "Dockerfile"
HADOLINT = Path(sys.executable).parent / "hadolint"
ROOT = PurePosixPath("/")
DBT_PATH_KEYS = ("model-paths", "seed-paths", "test-paths", "macro-paths", "snapshot-paths", "analysis-paths")


# -- reading the Dockerfile and .dockerignore ---------------------------------------------------------------


@dataclass(frozen=True)
class Copy:
    sources: tuple[str, ...]
    destination: str
    """Absolute (a relative one is taken from the WORKDIR in force), with its trailing ``/`` if written."""
    flags: tuple[str, ...]

    def placed(self, source: str) -> PurePosixPath:
        """Where ``source`` lands, as Docker copies: a directory's contents go into the destination; a file
        goes into it when it ends with ``/`` (or several sources are copied), else it is the file."""
        destination = PurePosixPath(self.destination)
        into = self.destination.endswith("/") or len(self.sources) > 1
        return destination / PurePosixPath(source).name if into and (REPO / source).is_file() else destination


@dataclass
class Stage:
    base: str
    name: str | None
    copies: list[Copy] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    runs: list[str] = field(default_factory=list)
    workdir: PurePosixPath = ROOT
    user: str | None = None
    entrypoint: list[str] | None = None


def instructions(text: str) -> list[tuple[str, str]]:
    """The Dockerfile's instructions, (INSTRUCTION, arguments), with continued lines joined and comments
    left out."""
    found: list[tuple[str, str]] = []
    pending = ""
    for line in text.splitlines():
        if line.strip().startswith("#") or (not line.strip() and not pending):
            continue
        pending += line.rstrip().removesuffix("\\").rstrip() + " "
        if not line.rstrip().endswith("\\"):
            keyword, _, arguments = pending.strip().partition(" ")
            found.append((keyword.upper(), arguments.strip()))
            pending = ""
    return found


def read_stages(text: str) -> list[Stage]:
    stages: list[Stage] = []
    for keyword, arguments in instructions(text):
        if keyword == "FROM":
            base, _, name = arguments.partition(" AS ")
            stages.append(Stage(base=base.strip(), name=name.strip() or None))
            continue
        stage = stages[-1]
        if keyword == "WORKDIR":
            stage.workdir = stage.workdir / arguments
        elif keyword == "COPY":
            words = shlex.split(arguments)
            flags = tuple(word for word in words if word.startswith("--"))
            *sources, destination = [word for word in words if not word.startswith("--")]
            trailing = "/" if destination.endswith("/") else ""
            stage.copies.append(Copy(tuple(sources), f"{stage.workdir / destination}{trailing}", flags))
        elif keyword == "ENV":
            stage.env |= dict(word.partition("=")[::2] for word in shlex.split(arguments))
        elif keyword == "RUN":
            stage.runs.append(arguments)
        elif keyword == "USER":
            stage.user = arguments
        elif keyword == "ENTRYPOINT":
            stage.entrypoint = json.loads(arguments)
    return stages


def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A .dockerignore pattern as a regular expression, with Go's path matching: ``*`` and ``?`` stay within
    one path segment, ``**`` spans any number of them (none included)."""
    out = ""
    for part in re.split(r"(\*\*/|\*\*|\*|\?)", pattern.strip("/")):
        out += {"**/": "(?:.*/)?", "**": ".*", "*": "[^/]*", "?": "[^/]"}.get(part, re.escape(part))
    return re.compile(out)


def dockerignore() -> list[tuple[bool, re.Pattern[str]]]:
    """The patterns of .dockerignore in order, each with whether it is an exception (``!``)."""
    lines = (REPO / ".dockerignore").read_text().splitlines()
    return [
        (line.startswith("!"), _glob_regex(line.removeprefix("!").strip()))
        for line in lines
        if line.strip() and not line.startswith("#")
    ]


def in_context(relative: PurePosixPath, patterns: list[tuple[bool, re.Pattern[str]]]) -> bool:
    """Whether a path of the repository is in the build context: the last pattern that matches it or one of
    its parent directories decides, as Docker reads .dockerignore."""
    names = [str(relative), *(str(parent) for parent in relative.parents if str(parent) != ".")]
    kept = True
    for exception, pattern in patterns:
        if any(pattern.fullmatch(name) for name in names):
            kept = exception
    return kept


def context_files(source: str, patterns: list[tuple[bool, re.Pattern[str]]]) -> list[PurePosixPath]:
    """The files of the build context under ``source`` (a file or a directory), relative to ``source``."""
    path = REPO / source
    if path.is_file():
        return [PurePosixPath(path.name)] if in_context(PurePosixPath(source), patterns) else []
    return sorted(
        PurePosixPath(file.relative_to(path).as_posix())
        for file in path.rglob("*")
        if file.is_file() and in_context(PurePosixPath(file.relative_to(REPO).as_posix()), patterns)
    )


@pytest.fixture(scope="module")
def stages() -> list[Stage]:
    return read_stages(DOCKERFILE.read_text())


@pytest.fixture(scope="module")
def image(stages: list[Stage]) -> Stage:
    return stages[-1]


def copied(stage: Stage) -> dict[PurePosixPath, str]:
    """What the stage copies from the build context: where each source lands, and the source."""
    return {copy.placed(source): source for copy in stage.copies if not copy.flags for source in copy.sources}


def home(image: Stage) -> PurePosixPath:
    """The home directory of the user the image creates."""
    [found] = [re.search(r"--home-dir (\S+)", run) for run in image.runs if "useradd" in run]
    assert found is not None
    return PurePosixPath(found[1])


# -- the Dockerfile itself ----------------------------------------------------------------------------------


def test_hadolint_finds_nothing_in_the_dockerfile_and_reports_a_broken_one(tmp_path: Path) -> None:
    # GIVEN the Dockerfile, and a copy on an unpinned base, with pip's cache kept and run as root
    broken = tmp_path / "Dockerfile"
    text = DOCKERFILE.read_text()
    broken.write_text(
        re.sub(r"FROM python:\S+", "FROM python", text)
        .replace("--no-cache-dir ", "")
        .replace("\nUSER 10001:10001\n", "\nUSER root\n")
    )
    # THEN hadolint finds nothing in the Dockerfile, and each of those in the copy
    clean = subprocess.run([str(HADOLINT), "--format", "json", str(DOCKERFILE)], capture_output=True,
                           text=True, cwd=tmp_path, timeout=60)  # fmt: skip
    assert (clean.returncode, json.loads(clean.stdout)) == (0, []), clean.stdout + clean.stderr
    found = subprocess.run([str(HADOLINT), "--format", "json", str(broken)], capture_output=True, text=True,
                           cwd=tmp_path, timeout=60)  # fmt: skip
    assert found.returncode == 1
    assert {"DL3006", "DL3042", "DL3002"} <= {finding["code"] for finding in json.loads(found.stdout)}


def test_both_stages_start_from_one_pinned_python(stages: list[Stage]) -> None:
    assert [stage.name for stage in stages] == ["build", None]
    assert stages[0].base == stages[1].base  # the venv built in one runs on the other's Python
    # A patch version of 3.11 on Debian bookworm; 3.11.5 at least (soupsieve, in constraints.txt, needs it)
    found = re.fullmatch(r"python:3\.11\.(\d+)-slim-bookworm", stages[0].base)
    assert found is not None, stages[0].base
    assert int(found[1]) >= 5, stages[0].base


def test_everything_copied_is_in_the_build_context(stages: list[Stage]) -> None:
    patterns = dockerignore()
    sources = [s for stage in stages for c in stage.copies if not c.flags for s in c.sources]
    assert sources
    for source in sources:
        assert (REPO / source).exists(), f"the Dockerfile copies {source}, which the repository lacks"
        assert context_files(source, patterns), f".dockerignore leaves {source} out of the build context"
    # and nothing else is: the virtualenvs, data, dbt's artefacts and the Python tests stay out
    for kept_out in (".venv/bin/python", ".git/HEAD", "data/x", "target/manifest.json", "tests/python/x.py",
                     "src/shopwarehouse/__pycache__/cli.cpython-311.pyc", "deploy/crontab"):  # fmt: skip
        assert not in_context(PurePosixPath(kept_out), patterns), kept_out


def test_the_build_stage_installs_the_package_with_its_runtime_dependencies_only(
    stages: list[Stage],
) -> None:
    build = stages[0]
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    needed = {"pyproject.toml", "constraints.txt", pyproject["project"]["readme"],
              *pyproject["tool"]["setuptools"]["packages"]["find"]["where"]}  # fmt: skip
    assert {build.workdir / name: name for name in needed}.items() <= copied(build).items()
    [install] = [run for run in build.runs if "--constraint constraints.txt ." in run]
    assert "pip install --no-cache-dir --constraint constraints.txt ." in install
    assert "[dev]" not in install


def test_the_image_holds_the_dbt_project_and_the_production_profile(image: Stage) -> None:
    # GIVEN what the image copies, and its working directory (the project the command runs dbt on)
    placed = copied(image)
    project = yaml.safe_load((REPO / "dbt_project.yml").read_text())
    # THEN every directory dbt_project.yml names that the repository has, and the selectors, are there
    directories = {path for key in DBT_PATH_KEYS for path in project[key] if (REPO / path).is_dir()}
    needed = {image.workdir / name: name for name in {*directories, "dbt_project.yml", "selectors.yml"}}
    assert needed.items() <= placed.items()
    # AND profiles.yml.example is the profiles.yml dbt and the loaders read (DBT_PROFILES_DIR)
    assert placed[PurePosixPath(image.env["DBT_PROFILES_DIR"]) / "profiles.yml"] == "profiles.yml.example"
    # AND the virtualenv built in the first stage, whose shopwarehouse is the entrypoint
    [venv] = [copy for copy in image.copies if copy.flags == ("--from=build",)]
    assert image.env["PATH"].startswith(f"{venv.destination}/bin:")
    assert image.entrypoint == ["shopwarehouse"]


def test_the_run_is_not_root_and_writes_under_its_home_only(image: Stage) -> None:
    # GIVEN the user the image creates and runs as
    [uid] = [re.findall(r"--uid (\d+)", run) for run in image.runs if "useradd" in run]
    assert image.user == f"{uid[0]}:{uid[0]}"
    assert uid[0] != "0"
    # THEN dbt's artefacts and logs and the KPI dashboard go under its home, and no Prometheus textfile is
    # written (the stack's metrics go to CloudWatch)
    settings = Settings.from_env(image.env)
    assert settings.metrics_textfile_dir is None
    for written in (image.env["DBT_TARGET_PATH"], image.env["DBT_LOG_PATH"], settings.report_path):
        assert PurePosixPath(written).is_relative_to(home(image)), written


def test_the_images_redshift_target_logs_in_with_no_aws_config_file(
    s3_endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the stack's task on Redshift: the image's profile, no AWS config file and no AWS_PROFILE (the
    # task role's credentials come from the SDK's default chain, here from the environment), and a cluster
    # on the local server, whose host refuses connections
    cluster = f"warehouse-{secrets.token_hex(4)}"
    aws_client("redshift", s3_endpoint, region="us-east-1").create_cluster(
        ClusterIdentifier=cluster, ClusterType="single-node", NodeType="ra3.xlplus", MasterUsername="admin",
        MasterUserPassword="Placeholder1",  # the local server's cluster: nothing logs in with it
    )  # fmt: skip
    shutil.copy(REPO / "profiles.yml.example", tmp_path / "profiles.yml")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    task = {"HOME": str(tmp_path), "AWS_CONFIG_FILE": str(tmp_path / "none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"), "AWS_ACCESS_KEY_ID": "task-role",
            "AWS_SECRET_ACCESS_KEY": "task-role", "AWS_REGION": "us-east-1",
            "AWS_ENDPOINT_URL_REDSHIFT": s3_endpoint, "DBT_PROFILES_DIR": str(tmp_path),
            "REDSHIFT_CLUSTER_ID": cluster, "REDSHIFT_HOST": "127.0.0.1", "REDSHIFT_PORT": str(free_port()),
            "REDSHIFT_USER": "shopwarehouse"}  # fmt: skip
    for name, value in task.items():
        monkeypatch.setenv(name, value)
    # WHEN the loaders' client connects to the target the stack sets
    with pytest.raises(Exception, match="Connection refused") as raised:
        open_client(Settings(target="redshift"))
    # THEN the IAM login got the cluster's credentials, and only the cluster's host refused: a fault that may
    # pass (a profile named in profiles.yml would have stopped it: "The config profile ... could not be
    # found")
    assert fault_of(raised.value) is Fault.TRANSIENT


# -- the image's dbt project, parsed ------------------------------------------------------------------------

# Placeholders for what each production target of profiles.yml.example requires: `dbt parse` renders the
# profile but does not connect.
TARGET_ENV = {
    "redshift": {"REDSHIFT_CLUSTER_ID": "warehouse", "REDSHIFT_HOST": "warehouse.example.invalid",
                 "REDSHIFT_USER": "shopwarehouse"},
    "snowflake": {"SNOWFLAKE_ACCOUNT": "acme-prod", "SNOWFLAKE_USER": "SHOPWAREHOUSE",
                  "SNOWFLAKE_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nnot read by parse\n"
                                           "-----END PRIVATE KEY-----\n"},
}  # fmt: skip


def lay_out(image: Stage, root: Path) -> None:
    """The image's files from the build context under ``root``, where its COPY instructions place them."""
    patterns = dockerignore()
    for copy in image.copies:
        for source in copy.sources if not copy.flags else ():
            destination = root / copy.placed(source).relative_to("/")
            for file in context_files(source, patterns):
                directory = (REPO / source).is_dir()
                target = destination / file if directory else destination
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(REPO / source / file if directory else REPO / source, target)


@pytest.mark.slow
@pytest.mark.parametrize("target", STACK_TARGETS)
def test_the_images_dbt_project_parses_on_each_production_target(
    image: Stage, target: str, tmp_path: Path
) -> None:
    # GIVEN exactly the files the image copies, laid out as in the image, and its environment (its paths
    # under tmp_path) with the target the stack sets and placeholders for the profile's settings
    root = tmp_path / "image"
    lay_out(image, root)
    (root / home(image).relative_to("/")).mkdir(parents=True)  # useradd --create-home
    workdir = root / image.workdir.relative_to("/")
    before = sorted(workdir.rglob("*"))
    env = {name: str(root / value.lstrip("/")) if value.startswith("/") else value
           for name, value in image.env.items() if name != "PATH"}  # fmt: skip
    env |= {"PATH": os.environ["PATH"], "HOME": str(root / home(image).relative_to("/")),
            "SHOPWAREHOUSE_TARGET": target, **TARGET_ENV[target]}  # fmt: skip
    # WHEN dbt parses the project in the image's working directory
    result = subprocess.run([str(Path(sys.executable).parent / "dbt"), "parse", "--no-partial-parse"],
                            cwd=workdir, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip
    # THEN it parses on the production profile, with every model, seed, snapshot, test and macro file of
    # the repository's project among the nodes
    assert result.returncode == 0, result.stdout + result.stderr
    manifest = json.loads((Path(env["DBT_TARGET_PATH"]) / "manifest.json").read_text())
    assert manifest["metadata"]["adapter_type"] == target
    parsed = {item["original_file_path"] for kind in ("nodes", "macros") for item in manifest[kind].values()}
    project = yaml.safe_load((REPO / "dbt_project.yml").read_text())
    expected = {
        file.relative_to(REPO).as_posix()
        for key in DBT_PATH_KEYS
        for path in project[key]
        for file in (REPO / path).rglob("*")
        if file.suffix in (".sql", ".csv")
    }
    assert expected
    assert expected <= parsed, sorted(expected - parsed)
    # AND it wrote nothing into the project (the run's user may not): only under DBT_TARGET_PATH and
    # DBT_LOG_PATH
    assert sorted(workdir.rglob("*")) == before
    assert (Path(env["DBT_LOG_PATH"]) / "dbt.log").is_file()
