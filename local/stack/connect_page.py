"""The connect page a customer sees (local/stack/connect/), served by `make run` at `/`. It calls the API
at another origin (`localhost` rather than `127.0.0.1`), so CORS works as it does when deployed."""

from __future__ import annotations

from pathlib import Path

PAGE_DIR = Path(__file__).resolve().parent / "connect"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}
# Its stylesheet is the hosted page's (/connect/hosted.css), which the API serves.
FILES = {"/": "index.html", "/connect/connect.js": "connect.js"}


def api_origin(port: int) -> str:
    return f"http://localhost:{port}"


def page_file(path: str, port: int) -> tuple[str, bytes] | None:
    """(content type, body) of a page file, or None when the path is not one (then it is the API's)."""
    name = FILES.get(path)
    if name is None:
        return None
    body = (PAGE_DIR / name).read_bytes().replace(b"{{API_BASE}}", api_origin(port).encode())
    return CONTENT_TYPES[Path(name).suffix], body
