"""Run Alembic from Python: used by the CLI, the run command and the tests."""

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig

from service.config import PROJECT_ROOT

ALEMBIC_INI = PROJECT_ROOT / "alembic.ini"


def alembic_config(database_url: str, secret_key: str | None = None) -> AlembicConfig:
    cfg = AlembicConfig(str(ALEMBIC_INI))
    cfg.set_main_option("script_location", str(Path(PROJECT_ROOT / "migrations")))
    cfg.attributes["database_url"] = database_url
    cfg.attributes["configure_logging"] = False
    # Migrations that seal secrets (0024) use the app's SECRET_KEY; without it, the
    # environment's (service.config.Config).
    if secret_key is not None:
        cfg.attributes["secret_key"] = secret_key
    return cfg


def upgrade(database_url: str, revision: str = "head", secret_key: str | None = None) -> None:
    command.upgrade(alembic_config(database_url, secret_key), revision)


def downgrade(database_url: str, revision: str, secret_key: str | None = None) -> None:
    command.downgrade(alembic_config(database_url, secret_key), revision)
