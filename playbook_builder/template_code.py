"""Templates compiled once, not once per process: Jinja's bytecode cache over the tool's cache.

Jinja turns each template into Python code the first time a process asks for it: about
0.12 s for the site's twenty templates (measured), paid by every build, by each of its
workers and by the preview server, and on a build that follows a change it is a tenth of
the whole. Loading the compiled code takes 5 ms.

This is Jinja's own `BytecodeCache` interface with the tool's cache (cache.py) behind it,
as `compiled.py` keeps pydantic's validators. An entry holds what Jinja writes: its
bytecode format and the Python version, the SHA-1 of the template's text, and the code.
Jinja compiles afresh when any of them differs, so an edited template is never served
from an old entry. Unlike every other entry, this one is code, as Python's own
`__pycache__` is: it is loaded only under the cache's seal (an entry altered, planted or
copied from elsewhere without this machine's key is rebuilt, never loaded), from the
user's cache folder, never from the workspace. The plain and the sandboxed environment
(the workspace's own templates) keep separate entries.
"""

from __future__ import annotations

import jinja2
from jinja2.bccache import Bucket, BytecodeCache

from playbook_builder.cache import Cache, digest


class TemplateCode(BytecodeCache):
    """Compiled templates of environments of the class named `kind`, kept in `store`
    (the tool's cache, opened when first needed)."""

    def __init__(self, kind: str, store: Cache | None = None) -> None:
        self.kind = kind
        self._store = store

    @property
    def store(self) -> Cache:
        if self._store is None:
            self._store = Cache.for_tool()
        return self._store

    def _key(self, bucket: Bucket) -> str:
        # Jinja's bucket key is the template's name and file; the text is checked inside
        return digest(["template code", jinja2.__version__, self.kind, bucket.key])

    def load_bytecode(self, bucket: Bucket) -> None:
        entry = self.store.get(self._key(bucket))
        if entry is not None and "code" in entry:
            bucket.bytecode_from_string(entry["code"])  # left empty unless it all matches

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.store.put(self._key(bucket), {"code": bucket.bytecode_to_string()})
