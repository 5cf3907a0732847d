"""Secrets from AWS SSM Parameter Store (`AWS_SSM_ENABLED=true`), as the seed deploys them.

This module knows SSM and nothing of the configuration model: `brx_app.config` asks it for
the parameters of the secrets the environment left unset and validates what comes back like
any other value. boto3 is an optional extra (`pip install 'brx-sync[aws]'`); it is imported
only when a parameter is actually read.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol


class SsmClient(Protocol):
    def get_parameter(self, *, Name: str, WithDecryption: bool) -> dict[str, Any]: ...


ClientFactory = Callable[[str | None], SsmClient]


class SsmError(Exception):
    """One parameter could not be read: `variable` names the setting it was meant for."""

    def __init__(self, variable: str, message: str) -> None:
        super().__init__(message)
        self.variable = variable


def boto3_client(region: str | None) -> SsmClient:
    try:
        import boto3  # type: ignore[import-not-found, import-untyped, unused-ignore]
    except ImportError:
        raise SsmError(
            "AWS_SSM_ENABLED", "reading SSM needs boto3; install 'brx-sync[aws]'"
        ) from None
    client: SsmClient = boto3.client("ssm", region_name=region)
    return client


def read_parameters(
    wanted: Mapping[str, str], region: str | None, client_factory: ClientFactory | None = None
) -> dict[str, str]:
    """{variable: value} for each {variable: parameter path} (SecureString decrypted).

    A failure names the variable and the path, never a value."""
    if not wanted:
        return {}
    client = (client_factory or boto3_client)(region)
    values: dict[str, str] = {}
    for variable, path in wanted.items():
        try:
            answer = client.get_parameter(Name=path, WithDecryption=True)
            values[variable] = str(answer["Parameter"]["Value"])
        except Exception as exc:  # never echo the value; name the variable and the path
            raise SsmError(
                variable, f"could not read SSM parameter {path} ({type(exc).__name__})"
            ) from None
    return values
