"""Secrets from AWS SSM Parameter Store (`AWS_SSM_ENABLED=true`), as the seed deploys them.

Only values not already set in the environment are fetched: `JWT_PUBLIC_KEY` from
`JWT_PUBLIC_KEY_SSM_PATH` and `FERNET_KEY` from `FERNET_KEY_SSM_PATH` (SecureString, decrypted).
boto3 is an optional extra (`pip install 'brx-sync[aws]'`); it is imported only when enabled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from brx_app.config import AppConfig


class SsmClient(Protocol):
    def get_parameter(self, *, Name: str, WithDecryption: bool) -> dict[str, Any]: ...


ClientFactory = Callable[[str | None], SsmClient]

_FIELDS = {  # config field -> (its variable, the variable naming its SSM path)
    "jwt_public_key": ("JWT_PUBLIC_KEY", "jwt_public_key_ssm_path"),
    "fernet_key": ("FERNET_KEY", "fernet_key_ssm_path"),
}


def _boto3_client(region: str | None) -> SsmClient:
    from brx_app.config import ConfigError

    try:
        import boto3  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        raise ConfigError(
            "AWS_SSM_ENABLED: reading SSM needs boto3; install 'brx-sync[aws]'"
        ) from None
    client: SsmClient = boto3.client("ssm", region_name=region)
    return client


def resolve_ssm(config: AppConfig, client_factory: ClientFactory | None = None) -> AppConfig:
    """The config with missing secrets filled from SSM (unchanged when SSM is off)."""
    from brx_app.config import ConfigError

    if not config.aws_ssm_enabled:
        return config
    wanted = {
        field: (variable, getattr(config, path_field))
        for field, (variable, path_field) in _FIELDS.items()
        if getattr(config, path_field) and not getattr(config, field)
    }
    if not wanted:
        return config
    client = (client_factory or _boto3_client)(config.aws_region)
    values: dict[str, str] = {}
    for field, (variable, path) in wanted.items():
        try:
            answer = client.get_parameter(Name=path, WithDecryption=True)
            values[field] = str(answer["Parameter"]["Value"])
        except ConfigError:
            raise
        except Exception as exc:  # never echo the value; name the variable and the path
            raise ConfigError(
                f"{variable}: could not read SSM parameter {path} ({type(exc).__name__})"
            ) from None
    if "jwt_public_key" in values:
        values["jwt_public_key"] = values["jwt_public_key"].replace("\\n", "\n")
    return config.model_copy(update=values)
