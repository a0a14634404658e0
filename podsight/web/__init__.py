"""podsight's web side: the endpoints behind the links in every digest (votes, one-click unsubscribe).

    app = create_app(settings)         # FastAPI; `podsight serve` runs it with uvicorn
"""

from podsight.web.app import create_app

__all__ = ["create_app"]
