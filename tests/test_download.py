"""Checksummed download against a local HTTP server."""

import functools
import hashlib
import http.server
import threading

import pytest

from jaxrnn.data import imdb
from jaxrnn.data.download import default_cache_dir, download, md5_file

PAYLOAD = b"a small archive body\n" * 5000


class CountingHandler(http.server.SimpleHTTPRequestHandler):
    """Serves files from a folder and counts GET requests per path."""

    def __init__(self, *args, requests, **kwargs):
        self.requests = requests
        super().__init__(*args, **kwargs)

    def do_GET(self):
        self.requests[self.path] = self.requests.get(self.path, 0) + 1
        super().do_GET()

    def log_message(self, format, *args):
        pass


@pytest.fixture
def server(tmp_path):
    """Serve `tmp_path/served` on 127.0.0.1; yield (base URL, request counts)."""
    served = tmp_path / "served"
    served.mkdir()
    (served / "small.tar.gz").write_bytes(PAYLOAD)
    requests = {}
    handler = functools.partial(
        CountingHandler, directory=str(served), requests=requests
    )
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.timeout = 5
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", requests
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def test_download_checks_and_caches(server, tmp_path):
    base, requests = server
    cache = tmp_path / "cache"
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    dest = download(f"{base}/small.tar.gz", cache / "small.tar.gz", md5, timeout=10)
    assert dest == cache / "small.tar.gz"
    assert dest.read_bytes() == PAYLOAD
    assert md5_file(dest) == md5
    assert requests == {"/small.tar.gz": 1}
    assert [p.name for p in cache.iterdir()] == ["small.tar.gz"]

    again = download(f"{base}/small.tar.gz", cache / "small.tar.gz", md5, timeout=10)
    assert again == dest
    assert requests == {"/small.tar.gz": 1}


def test_download_mismatch_leaves_nothing(server, tmp_path):
    base, requests = server
    cache = tmp_path / "cache"
    wrong = "0" * 32
    actual = hashlib.md5(PAYLOAD).hexdigest()
    with pytest.raises(ValueError) as info:
        download(f"{base}/small.tar.gz", cache / "small.tar.gz", wrong, timeout=10)
    message = str(info.value)
    assert "small.tar.gz" in message
    assert wrong in message
    assert actual in message
    assert requests == {"/small.tar.gz": 1}
    assert list(cache.iterdir()) == []


def test_download_replaces_corrupt_cached_file(server, tmp_path):
    base, requests = server
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "small.tar.gz").write_bytes(b"corrupt")
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    download(f"{base}/small.tar.gz", cache / "small.tar.gz", md5, timeout=10)
    assert (cache / "small.tar.gz").read_bytes() == PAYLOAD
    assert requests == {"/small.tar.gz": 1}


def test_download_http_error(server, tmp_path):
    base, _ = server
    cache = tmp_path / "cache"
    with pytest.raises(OSError, match="missing.tar.gz.*404"):
        download(
            f"{base}/missing.tar.gz", cache / "missing.tar.gz", "0" * 32, timeout=10
        )
    assert list(cache.iterdir()) == []


def test_cache_dir_from_env(monkeypatch, tmp_path):
    monkeypatch.setenv("JAXRNN_CACHE", str(tmp_path / "elsewhere"))
    assert default_cache_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("JAXRNN_CACHE")
    assert default_cache_dir().parts[-2:] == (".cache", "jaxrnn")


def test_fetch_imdb_into_env_cache(server, tmp_path, monkeypatch):
    base, requests = server
    monkeypatch.setattr(imdb, "IMDB_URL", f"{base}/small.tar.gz")
    monkeypatch.setattr(imdb, "IMDB_MD5", hashlib.md5(PAYLOAD).hexdigest())
    monkeypatch.setenv("JAXRNN_CACHE", str(tmp_path / "env-cache"))
    path = imdb.fetch_imdb()
    assert path == tmp_path / "env-cache" / "aclImdb_v1.tar.gz"
    assert path.read_bytes() == PAYLOAD
    assert imdb.fetch_imdb(tmp_path / "env-cache") == path
    assert requests == {"/small.tar.gz": 1}
