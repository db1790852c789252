"""A study folder's PNGs go into the report only as the regular files scratchrun drew: a planted link is not
followed (its target could be any file of the user's), and an oversized file is left out."""

from __future__ import annotations

import base64

from scratchrun.reporting.content import MAX_IMAGE_BYTES, embedded_images


def test_only_regular_pngs_within_the_limit_are_embedded(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"the user's private key")
    folder = tmp_path / "study"
    folder.mkdir()
    (folder / "a.png").write_bytes(b"\x89PNG drawn")
    (folder / "drawn.png").write_bytes(b"\x89PNG interactive")
    (folder / "link.png").symlink_to(secret)
    (folder / "huge.png").write_bytes(b"\0" * (MAX_IMAGE_BYTES + 1))
    images = embedded_images(folder, {"drawn.png"})
    assert [image["title"] for image in images] == ["a.png"]
    assert base64.b64decode(images[0]["src"].partition(",")[2]) == b"\x89PNG drawn"
