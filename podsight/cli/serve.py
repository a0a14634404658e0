"""`podsight serve`: the web endpoints behind digest links (votes, one-click unsubscribe)."""

from __future__ import annotations

import typer

from .common import console, state


def serve(
    ctx: typer.Context,
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on (0.0.0.0: every interface)."),
    port: int = typer.Option(8000, "--port", help="Port to listen on."),
) -> None:
    """Answer the vote and unsubscribe links of sent digests. Put it behind your HTTPS proxy at `base_url`."""
    import uvicorn

    from podsight.web import create_app

    st = state(ctx)
    if st.settings.secret_key.get_secret_value() == "change-me":
        console.print("[yellow]warning:[/] secret_key is the default: anyone can forge links; set PODSIGHT_SECRET_KEY")
    console.print(f"podsight serving http://{host}:{port} (links in digests point at {st.settings.base_url})")
    uvicorn.run(create_app(st.settings, st.store), host=host, port=port, log_level="warning")
