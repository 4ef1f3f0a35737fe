"""`playbook serve`: build into memory, serve on 127.0.0.1, rebuild what a change touches.

A rebuild runs the same stages as `playbook build` (`build.prepare`, then
`build.render_outputs`) into memory, with an in-memory cache under the build's own keys,
so only what a change touches is laid out again and a page cannot differ from the built
one. Packets are rendered when a browser asks for one. Pages get a small script, in serve
mode only, that listens for rebuilds: it reloads the page, or shows the error over it.
"""

from __future__ import annotations

import datetime
import http.server
import json
import mimetypes
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

from playbook_builder import build, workspace
from playbook_builder.cache import MemoryCache
from playbook_builder.errors import ContractError, PlaybookError
from playbook_builder.render import CONTENT_SECURITY_POLICY

EVENTS = "/__playbook__/events"
SCRIPT = "/__playbook__/live.js"
LIVE_JS = b"""(function () {
  "use strict";
  var last = null;
  function overlay(text) {
    var box = document.getElementById("playbook-overlay");
    if (!box) {
      box = document.createElement("div");
      box.id = "playbook-overlay";
      box.setAttribute("role", "alert");
      box.style.cssText = "position:fixed;inset:0;z-index:2147483647;" +
        "background:rgba(31,41,51,.92);color:#fff;padding:2rem;overflow:auto;" +
        "font:14px/1.5 ui-monospace,monospace";
      document.body.appendChild(box);
    }
    box.textContent = "";
    var title = document.createElement("strong");
    title.textContent = "The playbook could not be rebuilt. " +
      "Fix the file and save: this page updates by itself.";
    var pre = document.createElement("pre");
    pre.style.whiteSpace = "pre-wrap";
    pre.textContent = text;
    box.appendChild(title);
    box.appendChild(pre);
  }
  function clear() {
    var box = document.getElementById("playbook-overlay");
    if (box) { box.remove(); }
  }
  var source = new EventSource("/__playbook__/events");
  source.onmessage = function (event) {
    var state = JSON.parse(event.data);
    if (state.error) { overlay(state.error); return; }
    clear();
    if (last !== null && state.version !== last) { window.location.reload(); }
    last = state.version;
  };
})();
"""
_INJECT = b'<script src="/__playbook__/live.js"></script>\n</body>'


@dataclass
class LiveSite:
    """The site in memory, and the state browsers listen to."""

    root: Path | None
    today: datetime.date | None
    log: Callable[[str], None] = lambda line: None
    pages: dict[str, bytes] = field(default_factory=dict)
    version: int = 0
    error: str = ""
    ready: build.Prepared | None = None
    packets: dict[str, bytes] = field(default_factory=dict)
    changed: threading.Condition = field(default_factory=threading.Condition)
    store: MemoryCache = field(default_factory=MemoryCache)
    """Outputs of earlier rebuilds, by the build's own keys: only what a change touches
    is laid out again."""

    def rebuild(self, touched: Iterable[Path] = ()) -> None:
        """Build again into memory, by the same stages as `playbook build`."""
        started = time.perf_counter()
        try:  # in this process: it has the server's threads, and is not to be forked
            ready = build.prepare(self.root, self.today, store=self.store, jobs=1)
            made = build.render_outputs(ready, self.store, pdf=False, packet_links=True, jobs=1)
        except ContractError as err:
            self._fail("\n".join(str(p) for p in err.problems))
            return
        except PlaybookError as err:
            self._fail(str(err))
            return
        self.store.prune()
        with self.changed:
            self.pages, self.ready, self.error = made.files, ready, ""
            self.packets = {}
            self.version += 1
            self.changed.notify_all()
        fresh = len(ready.facts) - made.cached
        self.log(
            f"Rebuilt in {time.perf_counter() - started:.2f} s: "
            f"{fresh} of {len(ready.facts)} coalitions laid out again."
        )

    def _fail(self, message: str) -> None:
        with self.changed:
            self.error = message
            self.version += 1
            self.changed.notify_all()
        self.log(message)
        self.log("The site keeps the last good build until the problem is fixed.")

    def state(self) -> bytes:
        return json.dumps({"version": self.version, "error": self.error}).encode()

    def packet(self, slug: str, kind: str = "mou") -> bytes | None:
        """A coalition's packet (`mou`), briefing or Word agreement (`docx`), made on the
        first request after each rebuild by the build's own functions."""
        key = f"{slug}/{kind}"
        with self.changed:
            ready, cached = self.ready, self.packets.get(key)
        if cached is not None or ready is None:
            return cached
        fact = ready.of(slug)
        if fact is None:
            return None
        if kind == "docx":
            data = build.agreement_docx(ready, fact)
        else:
            data = build.render_packet(ready, fact, "briefing" if kind == "briefing" else "mou").pdf
        with self.changed:
            if self.ready is ready:
                self.packets[key] = data
        return data


_DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
_LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


def _loopback_host(host: str, port: int) -> bool:
    """Whether a Host header names this preview on the loopback (with or without its port)."""
    return host.lower() in (*_LOOPBACK, *(f"{name}:{port}" for name in _LOOPBACK))


def _loopback_origin(origin: str, port: int) -> bool:
    return origin.lower() in tuple(f"http://{name}:{port}" for name in _LOOPBACK)


def make_handler(site: LiveSite) -> type[http.server.BaseHTTPRequestHandler]:
    class Handler(http.server.BaseHTTPRequestHandler):
        server_version = "playbook"

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass

        head_only = False

        def do_HEAD(self) -> None:
            self.head_only = True
            self.do_GET()

        def do_GET(self) -> None:
            port = int(getattr(self.server, "server_port", 0))
            if not _loopback_host(self.headers.get("Host", ""), port):
                # another site's page that rebound its name to 127.0.0.1 gets nothing
                self._send(421, b"This preview answers only to localhost.", "text/plain")
                return
            path = unquote(urlsplit(self.path).path)
            if path == EVENTS:
                origin = self.headers.get("Origin")
                if origin is not None and not _loopback_origin(origin, port):
                    self._send(403, b"Not from this preview.", "text/plain")
                    return
                if self.head_only:
                    self._send(200, b"", "text/event-stream")
                    return
                self._events()
                return
            if path == SCRIPT:
                self._send(200, LIVE_JS, "text/javascript")
                return
            name = path.lstrip("/")
            if not name or name.endswith("/"):
                name += "index.html"
            documents = {
                "-mou.pdf": ("mou", "application/pdf"),
                "-briefing.pdf": ("briefing", "application/pdf"),
                "-mou.docx": ("docx", _DOCX),
            }
            ending = next((end for end in documents if name.endswith(end)), None)
            if ending is not None and name.startswith("coalitions/"):
                kind, media = documents[ending]
                data = site.packet(name.split("/")[1], kind)
                if data is not None:
                    self._send(200, data, media)
                    return
            data = site.pages.get(name)
            if data is None:
                self._send(404, b"Not in the playbook.", "text/plain")
                return
            kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
            if kind == "text/html":
                data = data.replace(b"</body>", _INJECT, 1)
            self._send(200, data, kind)

        def _send(self, status: int, data: bytes, kind: str) -> None:
            self.send_response(status)
            self.send_header(
                "Content-Type", kind + ("; charset=utf-8" if kind.startswith("text") else "")
            )
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
            self.send_header("X-Content-Type-Options", "nosniff")
            self.end_headers()
            if not self.head_only:
                self.wfile.write(data)

        def _events(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream")
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            seen = -1
            try:
                while True:
                    with site.changed:
                        if site.version == seen:
                            site.changed.wait(timeout=15)
                        current, message = site.version, site.state()
                    if current != seen:
                        self.wfile.write(b"data: " + message + b"\n\n")
                        seen = current
                    else:
                        self.wfile.write(b": keep-alive\n\n")
                    self.wfile.flush()
            except OSError:
                return

    return Handler


def watch(site: LiveSite, root: Path, stop: threading.Event) -> None:
    """Rebuild on every change to the workspace's inputs, until `stop` is set."""
    from watchfiles import watch as watch_files

    paths = [p for p in (root / "coalitions", root / "content", root / "templates") if p.is_dir()]
    paths.append(root / "playbook.yaml")
    for changes in watch_files(*paths, stop_event=stop, debounce=150, step=30, rust_timeout=500):
        touched = sorted({Path(name) for _, name in changes if _relevant(Path(name), root)})
        if touched:
            site.rebuild(touched)


def _relevant(path: Path, root: Path) -> bool:
    """Inputs of the build, not editors' temporary files."""
    try:
        relative = path.resolve().relative_to(root)
    except ValueError:
        return False
    if relative.name.startswith(".") or relative.name.endswith(("~", ".swp", ".tmp")):
        return False
    if relative.parts[0] == "coalitions":
        return relative.suffix in (".yaml", ".yml")
    return relative.parts[0] in ("content", "templates") or relative.name == "playbook.yaml"


def _stop_on_sigterm() -> None:
    """End on SIGTERM (how a service manager or a terminal's close stops a server) as on
    Ctrl-C: the process then exits normally, and the packets it printed leave no copies of
    their fonts in the temporary folder. Only the main thread can set a handler."""

    def interrupt(*_: object) -> None:
        raise KeyboardInterrupt

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, interrupt)


def serve(
    root: Path | None,
    today: datetime.date | None,
    port: int,
    log: Callable[[str], None],
    on_ready: Callable[[str], None],
) -> None:
    """Serve until interrupted."""
    found = workspace.find(root).root
    site = LiveSite(found, today, log)
    site.rebuild()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), make_handler(site))
    server.daemon_threads = True
    stop = threading.Event()
    watcher = threading.Thread(target=watch, args=(site, found, stop), daemon=True)
    watcher.start()
    on_ready(f"http://127.0.0.1:{server.server_address[1]}/")
    _stop_on_sigterm()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        stop.set()
        server.server_close()
