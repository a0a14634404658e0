"""podsight's web app: the admin's pages (digest, archive, episodes, insights, shows, search, settings),
behind a login, and the endpoints behind the links in every digest (votes, one-click unsubscribe, the
private Atom feed), which need no login because their signed token is the proof.

    app = create_app(settings)         # FastAPI; `podsight serve` runs it with uvicorn and the scheduler
"""

from podsight.web.app import create_app

__all__ = ["create_app"]
