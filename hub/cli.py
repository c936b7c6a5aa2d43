"""``hub``: the command line of the Datendrehscheibe. Each area mounts its own sub-app."""

from __future__ import annotations

import typer

from hub.broker.cli import app as broker_app
from hub.logs import configure_logging
from hub.settings import SettingsError, get_settings

app = typer.Typer(
    help="Datendrehscheibe: the city of Hamm's data-sharing hub.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(broker_app, name="broker")


def _mount_optional(module: str, name: str, attr: str = "app") -> None:
    """Mount a sub-app whose package may not be installed in a trimmed deployment."""
    try:
        sub = getattr(__import__(module, fromlist=[attr]), attr)
    except ModuleNotFoundError as error:
        if error.name and module.startswith(error.name):
            return
        raise
    app.add_typer(sub, name=name)


for _module, _name, _attr in (
    ("hub.schemas.cli", "schemas", "app"),
    ("hub.registry.cli", "registry", "app"),
    ("hub.access.cli", "access", "app"),
    ("hub.agreements.cli", "agreements", "app"),
    ("consumers.router.cli", "router", "app"),
    ("consumers.router.cli", "dlq", "dlq_app"),
    ("consumers.audit.cli", "audit", "app"),
    ("consumers.rights.cli", "rights", "app"),
    ("consumers.quality.cli", "quality", "app"),
    ("consumers.webhooks.cli", "webhooks", "app"),
    ("consumers.deliveries.cli", "deliveries", "app"),
    ("producers.gateway.cli", "gateway", "app"),
    ("producers.connectors.cli", "connect", "app"),
    ("consumers.features.cli", "features", "app"),
    ("producers.cli_simulate", "simulate", "app"),
    ("portal.cli", "portal", "app"),
    ("hub.deploy.cli", "deploy", "app"),
):
    _mount_optional(_module, _name, _attr)


@app.callback()
def main() -> None:
    """Read settings once, so a bad HUB_* variable fails here with its name."""
    try:
        settings = get_settings()
    except SettingsError as error:
        typer.secho(f"hub: {error}", err=True, fg="red")
        raise typer.Exit(2) from None
    configure_logging(settings.log_level, settings.log_format)


def _models_app() -> None:
    """``hub models events|deliveries``: typed models generated from the contracts."""
    models = typer.Typer(help="Generate typed models from the contracts.", no_args_is_help=True)
    for module, name, text in (
        ("producers.models.generate", "events", "Publisher models, from the source schemas."),
        (
            "consumers.subscriber.models.generate",
            "deliveries",
            "Subscriber models, from the delivery schemas the agreements derive.",
        ),
    ):
        try:
            command = __import__(module, fromlist=["app"]).app.registered_commands[0].callback
        except ModuleNotFoundError:
            continue
        models.command(name=name, help=text)(command)
    app.add_typer(models, name="models")


_models_app()


def run() -> None:
    """The ``hub`` entry point: a credential problem ends the command with one line that names
    the principal (never a traceback, never a retry loop, never the password)."""
    from hub.credentials import CredentialsError
    from hub.kafka import KafkaAuthError

    try:
        app(prog_name="hub")
    except (CredentialsError, KafkaAuthError) as error:
        typer.secho(f"hub: {error}", err=True, fg="red")
        raise SystemExit(2) from None


def _demo_command() -> None:
    from hub.demo import demo_command

    app.command(name="demo")(demo_command)


_demo_command()
