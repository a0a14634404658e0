"""`podsight admin ...`: the accounts that may sign in to the web app's settings pages."""

from __future__ import annotations

import typer

from .common import console, state

app = typer.Typer(help="Web admin accounts (sign in at /login to change settings and feeds).", no_args_is_help=True)


@app.command("add")
def add(
    ctx: typer.Context,
    username: str = typer.Argument(..., help="The name to sign in with."),
    replace: bool = typer.Option(False, "--replace", help="Set a new password for an existing admin "
                                 "(signs them out everywhere)."),
) -> None:
    """Add a web admin; asks for the password twice, without showing it."""
    from podsight.web.passwords import create_admin  # podsight.web loads FastAPI: only for this command

    password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with state(ctx).store.session() as session:
        admin = create_admin(session, username, password, replace=replace)
        console.print(f"{'Password set for' if replace else 'Added admin'} {admin.username}", highlight=False)
