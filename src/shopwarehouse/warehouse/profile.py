"""The dbt profile, read the way dbt reads it, so the loaders connect to the warehouse ``dbt build`` uses.

The file is looked up as dbt looks it up (``DBT_PROFILES_DIR``, then the working directory, then ``~/.dbt``)
and rendered by dbt's own renderer, so ``env_var()``, ``as_number`` and the rest mean exactly what they mean
to dbt.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from shopwarehouse.errors import ConfigurationError

PROFILE = "shopwarehouse"


class ProfileError(ConfigurationError):
    """``profiles.yml`` is missing, or has no such profile or target, or a target that cannot be rendered."""


def profiles_path() -> Path:
    candidates = [Path(os.environ["DBT_PROFILES_DIR"])] if os.environ.get("DBT_PROFILES_DIR") else []
    candidates += [Path.cwd(), Path.home() / ".dbt"]
    for directory in candidates:
        if (directory / "profiles.yml").is_file():
            return directory / "profiles.yml"
    raise ProfileError(
        f"no profiles.yml in {', '.join(map(str, candidates))}: run from the project directory or set "
        "DBT_PROFILES_DIR (profiles.yml.example shows the production targets)"
    )


def read_target(target: str) -> dict[str, Any]:
    """The rendered outputs entry ``target`` of the ``shopwarehouse`` profile (type, host, credentials...)."""
    # dbt's renderer needs dbt's invocation context; importing dbt is slow, so only when a profile is read.
    from dbt.config.renderer import ProfileRenderer
    from dbt_common.context import set_invocation_context
    from dbt_common.exceptions import DbtBaseException

    path = profiles_path()
    try:
        profiles = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as error:
        raise ProfileError(f"{path} is not valid YAML ({error}): correct it") from error
    if not isinstance(profiles.get(PROFILE), dict):
        raise ProfileError(
            f"{path} has no profile {PROFILE!r}: add it (profiles.yml.example shows one), or set "
            "DBT_PROFILES_DIR to the directory of the profiles.yml that has it"
        )
    outputs = profiles[PROFILE].get("outputs") or {}
    if target not in outputs:
        raise ProfileError(
            f"{path} has no target {target!r} in profile {PROFILE!r} (it has {sorted(outputs)}); add it "
            "or pick one with --target / SHOPWAREHOUSE_TARGET"
        )
    set_invocation_context(dict(os.environ))
    try:
        rendered: dict[str, Any] = ProfileRenderer({}).render_data(outputs[target])
    except DbtBaseException as error:  # an env_var() without a default and not set, above all
        reason = str(error).strip().splitlines()[-1].strip()
        raise ProfileError(
            f"target {target!r} of {path} cannot be read: {reason}: set it, or give it a default there"
        ) from error
    return rendered
