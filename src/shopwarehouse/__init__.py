"""shopwarehouse: S3 landing zone, loaders and tools around the dbt project."""

__version__ = "0.1.0"
