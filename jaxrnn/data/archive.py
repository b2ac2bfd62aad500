"""Streaming, validated reading of tar archives.

The reader walks a (possibly gzip-compressed) tar archive once, front to
back, and hands out the bytes of its regular files without writing anything
to disk. It rejects every member that extraction could abuse, even though it
never extracts: an absolute name, a `..` component, or a link whose target
is absolute or leaves the archive's tree. The labeled IMDB archive (the
official one without train/unsup) contains no such member.
"""

import gzip
import posixpath
import tarfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

# Exceptions of tarfile, gzip and zlib on a truncated or corrupt stream.
READ_ERRORS = (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile)


def check_member(member: tarfile.TarInfo, archive: Path) -> None:
    """Raise ValueError if `member` could escape a folder it was extracted into.

    Args:
      member: one member of the archive.
      archive: the archive's path, for the message.

    Raises:
      ValueError: the member's name is absolute or contains `..`, or it is a
        link whose target is absolute or resolves outside the archive's tree.
    """
    name = member.name
    if name.startswith(("/", "\\")) or posixpath.isabs(name):
        raise ValueError(f"unsafe member {name!r} in {archive}: absolute path")
    if ".." in Path(name).parts:
        raise ValueError(f"unsafe member {name!r} in {archive}: path contains '..'")
    if member.issym() or member.islnk():
        target = member.linkname
        # A symlink's target is relative to its own folder, a hard link's to
        # the archive root.
        base = posixpath.dirname(name) if member.issym() else ""
        resolved = posixpath.normpath(posixpath.join(base, target))
        if posixpath.isabs(target) or resolved == ".." or resolved.startswith("../"):
            raise ValueError(
                f"unsafe member {name!r} in {archive}: link to {target!r} points "
                f"outside the archive"
            )


def iter_files(
    archive: Path, select: Callable[[str], bool] = lambda name: True
) -> Iterator[tuple[str, bytes]]:
    """Stream the regular files of a tar archive, validating every member.

    Args:
      archive: path of a .tar, .tar.gz or .tgz file.
      select: called with each regular file's member name; files for which it
        returns False are skipped without being read.

    Yields:
      `(name, data)` for each selected regular file, in archive order.

    Raises:
      FileNotFoundError: `archive` does not exist.
      ValueError: a member is unsafe (see `check_member`), or the archive is
        truncated or not a valid tar file.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise FileNotFoundError(f"archive not found: {archive}")
    try:
        # "r|*" reads the stream strictly forward, detecting the compression.
        with tarfile.open(archive, mode="r|*") as tar:
            for member in tar:
                check_member(member, archive)
                if not member.isfile() or not select(member.name):
                    continue
                stream = tar.extractfile(member)
                yield member.name, stream.read()
    except READ_ERRORS as err:
        raise ValueError(
            f"cannot read {archive}: truncated or not a valid tar archive ({err})"
        ) from err
