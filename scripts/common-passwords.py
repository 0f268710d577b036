#!/usr/bin/env python3
"""Regenerates app/src/auth/common-passwords.txt from the npm package
@zxcvbn-ts/language-common (MIT): its frequency-ordered password list, lower-cased,
de-duplicated, and filtered to the 8-128 characters atelier accepts.

Usage: scripts/common-passwords.py  (needs npm and network access to the npm registry)
"""
import json, pathlib, subprocess, tarfile, tempfile

VERSION = "4.1.3"
ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "app/src/auth/common-passwords.txt"
HEADER = f"""# The most common passwords of 8 to 128 characters, most common first, lower-case.
# Source: the passwords list of @zxcvbn-ts/language-common {VERSION} (MIT License,
# Copyright (c) 2012-2016 Dan Wheeler and Dropbox, Inc., Copyright (c) 2021 @zxcvbn-ts),
# filtered to the lengths atelier accepts. Regenerate with scripts/common-passwords.py.
"""

with tempfile.TemporaryDirectory() as tmp:
    subprocess.run(["npm", "pack", f"@zxcvbn-ts/language-common@{VERSION}"], cwd=tmp,
                   check=True, capture_output=True)
    tgz = next(pathlib.Path(tmp).glob("*.tgz"))
    with tarfile.open(tgz) as tar:
        words = json.load(tar.extractfile("package/src/passwords.json"))

seen, out = set(), []
for word in words:
    word = word.lower()
    if 8 <= len(word) <= 128 and "\n" not in word and word not in seen:
        seen.add(word)
        out.append(word)
OUT.write_text(HEADER + "\n".join(out) + "\n")
print(f"{len(out)} passwords written to {OUT.relative_to(ROOT)}")
