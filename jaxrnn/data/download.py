"""Checksummed downloads into the jaxrnn cache folder.

A download streams into a temporary file beside its destination and is
renamed into place only after its MD5 checksum matches, so the cache never
contains a partial or corrupt file under the final name.
"""

import hashlib
import logging
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from tqdm import tqdm

logger = logging.getLogger(__name__)

CACHE_ENV = "JAXRNN_CACHE"
CHUNK_BYTES = 1 << 20


def default_cache_dir() -> Path:
    """Return the cache folder: `$JAXRNN_CACHE` if set, else `~/.cache/jaxrnn`."""
    env = os.environ.get(CACHE_ENV)
    return Path(env) if env else Path.home() / ".cache" / "jaxrnn"


def md5_file(path: Path) -> str:
    """Return the hex MD5 digest of a file's bytes."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(url: str, dest: Path, md5: str, *, timeout: float = 60.0) -> Path:
    """Download `url` to `dest` unless `dest` already has the expected checksum.

    Args:
      url: http or https address of the file.
      dest: final path of the file; its folder is created if missing.
      md5: expected hex MD5 digest of the file.
      timeout: seconds to wait for the connection and for each read.

    Returns:
      `dest`.

    Raises:
      ValueError: the downloaded bytes do not match `md5`. Nothing is left in
        the cache folder in that case.
      OSError: the download failed (connection, HTTP status or disk).
    """
    dest = Path(dest)
    md5 = md5.lower()
    if dest.is_file():
        actual = md5_file(dest)
        if actual == md5:
            logger.info("using cached %s", dest)
            return dest
        logger.warning(
            "cached %s has md5 %s, expected %s; downloading it again", dest, actual, md5
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(
        dir=dest.parent, prefix=f".{dest.name}.", suffix=".part"
    )
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            actual = fetch(url, out, timeout)
        if actual != md5:
            raise ValueError(
                f"checksum mismatch for {dest.name} downloaded from {url}: expected "
                f"md5 {md5}, got {actual}; the file was deleted"
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    logger.info("downloaded %s to %s", url, dest)
    return dest


def fetch(url: str, out, timeout: float) -> str:
    """Copy the body of `url` into the binary file `out` and return its MD5."""
    digest = hashlib.md5(usedforsecurity=False)
    logger.info("downloading %s", url)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            total = response.headers.get("Content-Length")
            with tqdm(
                total=int(total) if total else None,
                unit="B",
                unit_scale=True,
                desc=Path(urllib.parse.urlsplit(url).path).name,
            ) as bar:
                for chunk in iter(lambda: response.read(CHUNK_BYTES), b""):
                    out.write(chunk)
                    digest.update(chunk)
                    bar.update(len(chunk))
    except urllib.error.URLError as err:
        raise OSError(f"download of {url} failed: {err}") from err
    return digest.hexdigest()
