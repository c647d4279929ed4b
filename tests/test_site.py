"""Checks on the built documentation site (``site/``, produced by ``make site``).

* ``test_site_has_no_remote_assets`` -- cheap, no browser. Scans the built HTML and CSS for
  scripts, stylesheets, fonts, images, ... loaded from ``http(s)://`` or protocol-relative
  ``//host`` URLs, and for hyperlinks to well-known CDNs. Needs only ``site/``.

* The browser tests serve ``site/`` on 127.0.0.1 and use headless Chromium (via Playwright,
  with a system Chromium; Playwright's own browser downloads are never used). The fixture
  ``site_pass`` opens every page once for two of them: ``test_site_nothing_clipped`` (tables
  and formulas fit their column, or scroll with a cue, at each width of OVERFLOW_WIDTHS) and
  ``test_site_math_renders_offline``, which checks that

  - no request tries to leave the machine (they are aborted and listed),
  - no resource fails to load (failed requests, HTTP >= 400, console errors,
    uncaught page errors),
  - KaTeX typeset every ``.arithmatex`` element: no ``.katex-error``, no raw
    TeX (``\\frac``, ``\\(``, ``\\[``, ``$$``) left in visible text, and at
    least one ``.katex`` element on every page that has math,
  - no TeX escaped arithmatex: ``\\frac``, ``\\(``, ``\\[``, ``$$`` or
    ``\\begin{`` in the article text outside math, ``pre`` and ``code``.

All skip (with the reason) when ``site/`` has not been built; the browser tests also skip
when Chromium or the ``playwright`` package is missing. Chromium is looked up in
``$NNREF_CHROMIUM``, then ``/usr/bin/chromium`` (``tools/install_chromium.sh`` installs it on Debian).
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Page

REPO_ROOT = Path(__file__).resolve().parents[1]
SITE_DIR = REPO_ROOT / "site"

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

LOCAL_HOSTS = {"127.0.0.1", "localhost"}

# Raw TeX that must not survive rendering.
RAW_TEX_TOKENS = ("\\frac", "\\(", "\\[", "$$")
# Outside math elements and code, these indicate math arithmatex never saw.
STRAY_TEX_TOKENS = ("\\frac", "\\(", "\\[", "$$", "\\begin{")

CDN_HOSTS = (
    "cdn.jsdelivr.net",
    "unpkg.com",
    "cdnjs.cloudflare.com",
    "fonts.googleapis.com",
    "fonts.gstatic.com",
    "ajax.googleapis.com",
    "code.jquery.com",
    "polyfill.io",
    "cdn.polyfill.io",
    "stackpath.bootstrapcdn.com",
    "maxcdn.bootstrapcdn.com",
    "use.fontawesome.com",
    "kit.fontawesome.com",
    "esm.sh",
    "cdn.skypack.dev",
)

RENDER_TIMEOUT_MS = 15_000


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _require_site() -> None:
    if not (SITE_DIR / "index.html").is_file():
        pytest.skip(f"{SITE_DIR / 'index.html'} not found: run `make site` first")


def _find_chromium() -> str | None:
    env = os.environ.get("NNREF_CHROMIUM")
    candidates = [env] if env else []
    candidates.append("/usr/bin/chromium")
    for cand in candidates:
        if cand and os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    return None


def _built_pages() -> list[Path]:
    """Every built HTML page except 404.html and search assets."""
    pages = []
    for path in sorted(SITE_DIR.rglob("*.html")):
        rel = path.relative_to(SITE_DIR)
        if rel.as_posix() == "404.html" or rel.parts[0] == "search":
            continue
        pages.append(rel)
    return pages


def _is_remote(url: str) -> bool:
    url = url.strip().strip("'\"").strip()
    low = url.lower()
    return low.startswith(("http://", "https://", "//"))


# --------------------------------------------------------------------------
# static check: no remote assets referenced by HTML / CSS
# --------------------------------------------------------------------------

# <link rel=...> values that make the browser fetch (or connect to) the href.
_FETCHING_RELS = {
    "stylesheet",
    "preload",
    "modulepreload",
    "prefetch",
    "preconnect",
    "dns-prefetch",
    "icon",
    "shortcut",
    "apple-touch-icon",
    "apple-touch-icon-precomposed",
    "mask-icon",
    "manifest",
    "font",
}

_CSS_URL_RE = re.compile(r"url\(\s*(['\"]?)(.*?)\1\s*\)", re.IGNORECASE | re.DOTALL)
_CSS_IMPORT_RE = re.compile(r"@import\s+(?:url\(\s*)?['\"]?([^'\")\s;]+)", re.IGNORECASE)


def _css_remote_refs(css: str) -> list[str]:
    found = []
    for _, value in _CSS_URL_RE.findall(css):
        if not value.lower().startswith("data:") and _is_remote(value):
            found.append(f"url({value[:120]})")
    for value in _CSS_IMPORT_RE.findall(css):
        if _is_remote(value):
            found.append(f"@import {value[:120]}")
    return found


class _AssetScanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_style = False

    def _check(self, what: str, url: str | None) -> None:
        if url and _is_remote(url):
            self.problems.append(f"{what} -> {url}")

    def _check_srcset(self, what: str, srcset: str | None) -> None:
        for item in (srcset or "").split(","):
            parts = item.split()
            if parts:
                self._check(what, parts[0])

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): v for k, v in attrs}
        if tag == "script":
            self._check("<script src>", a.get("src"))
        elif tag == "link":
            rels = set((a.get("rel") or "").lower().split())
            if rels & _FETCHING_RELS:
                self._check(f"<link rel={a.get('rel')} href>", a.get("href"))
        elif tag in ("img", "source", "iframe", "embed", "audio", "video", "track", "input"):
            self._check(f"<{tag} src>", a.get("src"))
            self._check_srcset(f"<{tag} srcset>", a.get("srcset"))
            if tag == "video":
                self._check("<video poster>", a.get("poster"))
        elif tag == "object":
            self._check("<object data>", a.get("data"))
        elif tag == "a":
            href = a.get("href") or ""
            if _is_remote(href):
                host = (urlsplit(href if "://" in href else "http:" + href).hostname or "").lower()
                if host in CDN_HOSTS:
                    self.problems.append(f"<a href> to CDN -> {href}")
        elif tag == "style":
            self._in_style = True
        style = a.get("style")
        if style:
            self.problems.extend(f"style attribute {r}" for r in _css_remote_refs(style))

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.problems.extend(f"<style> {r}" for r in _css_remote_refs(data))


def test_site_has_no_remote_assets() -> None:
    _require_site()
    problems: list[str] = []
    n_html = n_css = 0
    for path in sorted(SITE_DIR.rglob("*")):
        if not path.is_file():
            continue
        rel = path.relative_to(SITE_DIR).as_posix()
        suffix = path.suffix.lower()
        if suffix in (".html", ".htm"):
            n_html += 1
            scanner = _AssetScanner()
            scanner.feed(path.read_text(encoding="utf-8", errors="replace"))
            scanner.close()
            problems.extend(f"{rel}: {p}" for p in scanner.problems)
        elif suffix == ".css":
            n_css += 1
            css = path.read_text(encoding="utf-8", errors="replace")
            problems.extend(f"{rel}: {p}" for p in _css_remote_refs(css))
    assert n_html, f"no HTML files under {SITE_DIR}"
    assert not problems, (
        f"{len(problems)} remote asset reference(s) in the built site "
        f"(scanned {n_html} HTML and {n_css} CSS files):\n  " + "\n  ".join(problems)
    )


# --------------------------------------------------------------------------
# browser check: every page renders its math offline
# --------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    """Static file handler that records error responses instead of logging."""

    errors: list[str]  # set per server via a subclass

    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".woff2": "font/woff2",
        ".woff": "font/woff",
        ".js": "text/javascript",
        ".json": "application/json",
    }

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        try:
            status = int(code)
        except (TypeError, ValueError):
            return
        if status >= 400:
            self.errors.append(f"HTTP {status} for {self.path}")


@pytest.fixture(scope="module")
def site_server() -> Iterator[tuple[str, list[str]]]:
    _require_site()
    errors: list[str] = []
    handler_cls = type("_Handler", (_QuietHandler,), {"errors": errors})
    handler = functools.partial(handler_cls, directory=str(SITE_DIR))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", errors
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# Text of an element as a reader sees it: KaTeX's hidden MathML copy (which
# repeats the TeX source in an <annotation>) is left out. Text nodes are
# walked in place -- cloning the DOM would make cloned <img> elements fetch
# their images again. Both snippets are single arrow functions, as
# Playwright's evaluate()/wait_for_function() expect.
_JS_VISIBLE_TEXT = """
  const textOutside = (root, skip) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    let out = '';
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const parent = n.parentElement;
      if (parent && parent !== root && parent.closest(skip)) continue;
      out += n.data;
    }
    return out;
  };
  const visibleText = (el) => textOutside(el, '.katex-mathml, annotation, script, style');
"""

_JS_LAID_OUT = "() => document.body.getAttribute('data-nnref-math') === 'done'"  # katex-init.js sets it

_JS_PENDING = (
    "() => {"
    + _JS_VISIBLE_TEXT
    + """
  for (const el of document.querySelectorAll('.arithmatex')) {
    const t = visibleText(el);
    if (t.includes('\\\\(') || t.includes('\\\\[')) return false;
  }
  return true;
}
"""
)

_JS_INSPECT = (
    "([tokens, strayTokens]) => {"
    + _JS_VISIBLE_TEXT
    + """
  const math = Array.from(document.querySelectorAll('.arithmatex'));
  const raw = [];
  for (const el of math) {
    const t = visibleText(el);
    const hit = tokens.filter((tok) => t.includes(tok));
    if (hit.length) raw.push({tokens: hit, text: t.trim().slice(0, 160)});
  }
  const errors = Array.from(document.querySelectorAll('.katex-error')).map((el) => ({
    text: (el.textContent || '').trim().slice(0, 160),
    title: (el.getAttribute('title') || '').slice(0, 200),
  }));
  // TeX that never became math: look at the article text outside math and code.
  const stray = [];
  const content = document.querySelector('.md-content') || document.body;
  if (content) {
    const text = textOutside(
        content, '.arithmatex, .katex, pre, code, script, style, textarea');
    for (const tok of strayTokens) {
      const i = text.indexOf(tok);
      if (i >= 0) {
        const context = text.slice(Math.max(0, i - 40), i + 60).replace(/\\s+/g, ' ');
        stray.push({token: tok, context: context.trim()});
      }
    }
  }
  return {
    nMath: math.length,
    nKatex: document.querySelectorAll('.katex').length,
    raw, errors, stray,
  };
}
"""
)


def _browser() -> str:
    """Chromium's path, once it and the playwright package are both here; else the test skips."""
    chromium = _find_chromium()
    if chromium is None:
        pytest.skip(
            "no Chromium found (looked at $NNREF_CHROMIUM and /usr/bin/chromium); "
            "run tools/install_chromium.sh or set NNREF_CHROMIUM"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("python package `playwright` is not installed (pip install playwright)")
    return chromium



# --------------------------------------------------------------------------
# browser check: nothing clipped at a desktop and a phone width
# --------------------------------------------------------------------------

# The widths a reader's review used: a laptop window and a phone held upright.
OVERFLOW_WIDTHS = (1400, 390)

# Measures every element of the article after opening every <details> (a collapsed block's
# formulas are clipped just the same once a reader opens it). KaTeX's inner spans clip on
# purpose (square-root and arrow glyphs are drawn wider than their boxes), so they are
# skipped; the boxes holding the formulas are measured.
_JS_OVERFLOW = """
() => {
  for (const d of document.querySelectorAll('.md-content details')) d.open = true;
  const article = document.querySelector('.md-content');
  if (!article) return {clipped: [], escaped: [], uncued: [], scrollers: 0};
  const col = article.getBoundingClientRect();
  const name = (el) => {
    const id = el.id ? '#' + el.id : '';
    const cls = typeof el.className === 'string' && el.className
      ? '.' + el.className.trim().split(/\\s+/).slice(0, 2).join('.') : '';
    let at = el;
    while (at && !(at.id && /^H[1-6]$/.test(at.tagName)) && at !== article) {
      at = at.previousElementSibling || at.parentElement;
    }
    const where = at && at.id ? ' under #' + at.id : '';
    const text = (el.textContent || '').replace(/\\s+/g, ' ').trim().slice(0, 50);
    return el.tagName.toLowerCase() + id + cls + where + ' "' + text + '"';
  };
  const scrolls = (s) => s.overflowX === 'auto' || s.overflowX === 'scroll';
  const clipped = [], escaped = [], uncued = [];
  let scrollers = 0;
  for (const el of article.querySelectorAll('*')) {
    if (el.closest('.katex') || el.closest('.md-clipboard')) continue;
    if (!el.getClientRects().length) continue;
    const s = getComputedStyle(el);
    const over = el.scrollWidth - el.clientWidth;
    if (over > 1 && (s.overflowX === 'hidden' || s.overflowX === 'clip')) {
      clipped.push(name(el) + ': ' + over + ' px cut off');
    }
    if (over > 1 && scrolls(s)) {
      scrollers += 1;
      // The cue: a shadow drawn at the side the hidden part lies (nnref.css) and a
      // scrollbar that is not switched off.
      if (!s.backgroundImage.includes('gradient') || s.scrollbarWidth === 'none') {
        uncued.push(name(el) + ': scrolls ' + over + ' px with no shadow or scrollbar');
      }
    }
    let inside = false;
    for (let p = el.parentElement; p && p !== article; p = p.parentElement) {
      if (scrolls(getComputedStyle(p))) { inside = true; break; }
    }
    if (inside) continue;
    const r = el.getBoundingClientRect();
    const out = Math.max(r.right - col.right, col.left - r.left);
    if (out > 1 && r.width > 0) escaped.push(name(el) + ': ' + Math.round(out) + ' px outside the column');
  }
  return {clipped, escaped, uncued, scrollers};
}
"""

# A display formula that scrolls although it has somewhere to break (a top-level =, + or -)
# was not laid out by katex-init.js's breakLong.  Formulas that scroll with no break point (a
# single wide `cases`, one indivisible term) are counted, not failed: they scroll with a cue.
_JS_UNBROKEN = """
() => {
  const unbroken = [];
  let scrolling = 0;
  for (const el of document.querySelectorAll('.md-content div.arithmatex[data-nnref-tex]')) {
    if (el.scrollWidth <= el.clientWidth + 1) continue;
    scrolling += 1;
    const tex = el.getAttribute('data-nnref-tex');
    const laid = (el.querySelector('annotation') || {}).textContent || '';
    const points = window.nnrefBreakPoints(tex);
    if (points.length && !laid.includes('{aligned}')) unbroken.push(tex.trim().slice(0, 60));
  }
  return {unbroken, scrolling};
}
"""


# (TeX, the pieces katex-init.js may break it into): written cases, each a way to go wrong.
BREAK_CASES = (
    ("a = b + c", ["a", "= b", "+ c"]),
    # a plain bracket is depth: no break inside (1 - alpha)
    (r"v_t = \alpha v_{t-1} + (1 - \alpha) g_t^2", ["v_t", r"= \alpha v_{t-1}", r"+ (1 - \alpha) g_t^2"]),
    (r"\mathbb{E}[y] = p\cdot 0 + (1 - p)\,\frac{x}{1-p}",
     [r"\mathbb{E}[y]", r"= p\cdot 0", "+ (1 - p)", r"\,\frac{x}{1-p}"]),
    # no product break after a function's name or before a differential
    (r"\operatorname{Var}\,U(-a, a) = \int z^2\,dz", [r"\operatorname{Var}\,U(-a, a)", r"= \int z^2\,dz"]),
    (r"4\,\sigma'(2\,x)", ["4", r"\,\sigma'(2\,x)"]),
    # a sign after a relation, an operator or a script mark is unary; a space changes nothing
    (r"x \leq - 1", [r"x \leq - 1"]),
    (r"x \cdot - y", [r"x \cdot - y"]),
    (r"x\; - y", [r"x\;", "- y"]),
    ("a = x_- + y", ["a", "= x_- + y"]),
    # := and <= are not the relation to break at
    ("f := x + 1", ["f := x", "+ 1"]),
    ("x <= y - 1", ["x <= y", "- 1"]),
    (r"\sqrt[n-1]{x} - 1", [r"\sqrt[n-1]{x}", "- 1"]),
    (r"\left(a + b\right) - c", [r"\left(a + b\right)", "- c"]),
    (r"\{-1, 1\} + a", [r"\{-1, 1\}", "+ a"]),
    (r"\text{x - y} + 1", [r"\text{x - y}", "+ 1"]),
    (r"y = \begin{cases} a - b & x \\ c & y \end{cases}", ["y", r"= \begin{cases} a - b & x \\ c & y \end{cases}"]),
    # laid out by hand already: left alone
    (r"a = b \\ c = d", [r"a = b \\ c = d"]),
)


def test_formula_break_points(site_server: tuple[str, list[str]]) -> None:
    chromium = _browser()
    from playwright.sync_api import sync_playwright

    base_url, _ = site_server
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(base_url + "index.html", wait_until="load")
            got = page.evaluate("""(cases) => cases.map((tex) => {
              const pieces = [];
              let start = 0;
              for (const p of window.nnrefBreakPoints(tex)) { pieces.push(tex.slice(start, p.at).trim()); start = p.at; }
              pieces.push(tex.slice(start).trim());
              return pieces;
            })""", [tex for tex, _ in BREAK_CASES])
        finally:
            browser.close()
    wrong = [f"{tex!r}: {pieces} (expected {want})" for (tex, want), pieces in zip(BREAK_CASES, got) if pieces != want]
    assert not wrong, "break points:\n" + "\n".join(wrong)


# --------------------------------------------------------------------------
# browser checks: one visit of every page for both checks above
# --------------------------------------------------------------------------

def _is_local_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("data", "blob", "about") or (parts.hostname or "").lower() in LOCAL_HOSTS


@dataclass
class _SitePass:
    """What one visit of every page found; each test asserts on its own fields."""

    pages: list[Path]
    # test_site_math_renders_offline's: external requests (aborted), problems by page, server errors.
    external: list[str] = field(default_factory=list)
    problems: dict[str, list[str]] = field(default_factory=dict)
    server_errors: list[str] = field(default_factory=list)
    # test_site_nothing_clipped's: clipped or uncued overflow; display formulas scrolling, by width.
    clipped: list[str] = field(default_factory=list)
    scrolling: dict[int, int] = field(default_factory=lambda: dict.fromkeys(OVERFLOW_WIDTHS, 0))


def _inspect_math(page: Page, note: Callable[[str], None]) -> None:
    """The math check of a loaded page: KaTeX typeset everything, with no error and no stray TeX."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        has_math, has_katex = page.evaluate("() => [!!document.querySelector('.arithmatex'),"
                                            " typeof window.katex !== 'undefined']")
        if has_math and not has_katex:
            note("page has math but KaTeX (window.katex) is not loaded")
        elif has_math:
            try:
                page.wait_for_function(_JS_PENDING, timeout=RENDER_TIMEOUT_MS)
            except PlaywrightError:
                note(f"math was not typeset within {RENDER_TIMEOUT_MS / 1000:.0f}s (raw \\( or \\[ still visible)")
        page.evaluate("() => document.fonts.ready.then(() => true)")
        info = page.evaluate(_JS_INSPECT, [list(RAW_TEX_TOKENS), list(STRAY_TEX_TOKENS)])
    except PlaywrightError as exc:
        note(f"browser error: {exc}")
        return
    for err in info["errors"]:
        note(f"KaTeX error (.katex-error): {err['text']!r} -- {err['title']}")
    for raw in info["raw"]:
        note(f"raw TeX {raw['tokens']} left in .arithmatex: {raw['text']!r}")
    if info["nMath"] and not info["nKatex"]:
        note(f"{info['nMath']} .arithmatex element(s) but no .katex output")
    for s in info["stray"]:
        note(f"unrendered TeX {s['token']!r} outside math/code: {s['context']!r}")


def _measure_clipping(page: Page, name: str, found: _SitePass) -> None:
    """The clipping check: at the width the page was loaded at, then resized to each further one."""
    from playwright.sync_api import Error as PlaywrightError

    try:
        # A fresh load's waits: math typeset, fonts in, formulas laid out (after _inspect_math
        # the first two return at once; they stay so this check never measures half-typeset math).
        page.wait_for_function(_JS_PENDING, timeout=RENDER_TIMEOUT_MS)
        page.evaluate("() => document.fonts.ready.then(() => true)")
        page.wait_for_function(_JS_LAID_OUT, timeout=RENDER_TIMEOUT_MS)
        for k, width in enumerate(OVERFLOW_WIDTHS):
            if k:  # katex-init.js lays the formulas out again and marks <body> done
                page.evaluate("() => document.body.setAttribute('data-nnref-math', 'resizing')")
                page.set_viewport_size({"width": width, "height": 900})
                page.wait_for_function(_JS_LAID_OUT, timeout=RENDER_TIMEOUT_MS)
            # Open every <details> and lay out its formulas now (the toggle handler would, later).
            page.evaluate("() => { for (const d of document.querySelectorAll('.md-content details'))"
                          " d.open = true; window.nnrefBreakLong(document); }")
            info = page.evaluate(_JS_OVERFLOW)
            lines = page.evaluate(_JS_UNBROKEN)
            found.scrolling[width] += lines["scrolling"]
            info["clipped"] += [f"formula left on one line though it can break: {t}" for t in lines["unbroken"]]
            bad = info["clipped"] + info["escaped"] + info["uncued"]
            found.clipped += [f"{width} px {name}: {b}" for b in bad]
    except PlaywrightError as exc:  # a page that cannot be measured fails the check
        found.clipped.append(f"{name}: not measured: {exc}")


@pytest.fixture(scope="module")
def site_pass(site_server: tuple[str, list[str]]) -> _SitePass:
    """Every built page opened once, in one Chromium tab, for both checks: loading and typesetting
    a page is most of a check's time, so the math and the clipping tests share one visit."""
    chromium = _browser()
    from playwright.sync_api import ConsoleMessage, Request, Response, Route, sync_playwright
    from playwright.sync_api import Error as PlaywrightError

    base_url, server_errors = site_server
    found = _SitePass(pages=_built_pages())
    current = {"page": "(startup)"}  # the page in the tab, for events that name none

    def note(page_name: str, msg: str) -> None:
        found.problems.setdefault(page_name, []).append(msg)

    def origin(request: Request) -> str:
        """The page a request belongs to (its frame's URL), else the current page."""
        try:
            url = request.frame.url
        except PlaywrightError:  # e.g. requests from web workers have no frame
            return current["page"]
        if url.startswith(base_url):
            return url[len(base_url) :].split("#")[0].split("?")[0] or "index.html"
        return current["page"]

    def on_request(request: Request) -> None:
        if not _is_local_url(request.url):
            msg = f"{origin(request)}: {request.method} {request.url}"
            if msg not in found.external:
                found.external.append(msg)

    def route_handler(route: Route, request: Request) -> None:
        if _is_local_url(request.url):
            route.continue_()
        else:
            on_request(request)  # listed (once) whichever of the two sees it first
            route.abort("blockedbyclient")

    def on_request_failed(request: Request) -> None:
        # External requests are reported above; net::ERR_ABORTED only means a request was still in
        # flight when we navigated on (favicon, search worker); a missing file is an HTTP 404 (on_response).
        if _is_local_url(request.url) and request.failure != "net::ERR_ABORTED":
            note(origin(request), f"request failed: {request.url} ({request.failure})")

    def on_response(response: Response) -> None:
        if response.status >= 400:
            note(origin(response.request), f"HTTP {response.status} for {response.url}")

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error":
            note(current["page"], f"console error: {msg.text}")

    first_width = {"width": OVERFLOW_WIDTHS[0], "height": 900}
    with (tempfile.TemporaryDirectory(prefix="nnref-chromium-", ignore_cleanup_errors=True) as user_data_dir,
          sync_playwright() as pw):
        context = pw.chromium.launch_persistent_context(
            user_data_dir, executable_path=chromium, headless=True, args=CHROMIUM_ARGS,
            service_workers="block", viewport=first_width)
        try:
            context.set_default_timeout(RENDER_TIMEOUT_MS)
            context.route("**/*", route_handler)
            context.on("request", on_request)
            context.on("requestfailed", on_request_failed)
            context.on("response", on_response)

            # One tab for all pages; listeners attribute events to current["page"].
            page = context.pages[0] if context.pages else context.new_page()
            page.on("console", on_console)
            page.on("pageerror", lambda e: note(current["page"], f"page error: {e}"))

            for rel in found.pages:
                name = rel.as_posix()
                current["page"] = name
                try:
                    # Loaded at the first width (the last page left the tab at the last).
                    page.set_viewport_size(first_width)
                    page.goto(base_url + name, wait_until="load")
                except PlaywrightError as exc:  # fails both checks: never measure what the tab still shows
                    note(name, f"browser error: {exc}")
                    found.clipped.append(f"{name}: not measured, the page did not load: {exc}")
                    continue
                _inspect_math(page, functools.partial(note, name))
                _measure_clipping(page, name, found)
            # Let late events (e.g. a last failed request) land on this page.
            page.goto("about:blank")
            current["page"] = "(shutdown)"
        finally:
            context.close()
    # The server's errors so far are this pass's: later tests' requests are theirs.
    found.server_errors = list(server_errors)
    return found


def test_site_math_renders_offline(site_pass: _SitePass) -> None:
    pages, problems = site_pass.pages, site_pass.problems
    assert pages, f"no HTML pages found under {SITE_DIR}"
    lines: list[str] = []
    if site_pass.external:
        lines += [f"{len(site_pass.external)} request(s) tried to leave the machine (aborted):",
                  *(f"  {e}" for e in site_pass.external)]
    for name in sorted(problems):
        lines += [f"{name}:", *(f"  {p}" for p in problems[name])]
    if site_pass.server_errors:
        lines += ["local server error responses:", *(f"  {e}" for e in site_pass.server_errors)]
    assert not lines, f"site check failed ({len(pages)} page(s) opened from {SITE_DIR}):\n" + "\n".join(lines)


def test_site_nothing_clipped(site_pass: _SitePass) -> None:
    """Every table and formula fits its column or scrolls in a box with a visible cue, at each width."""
    pages, problems = site_pass.pages, site_pass.clipped  # plain names keep pytest's report short
    assert pages, f"no HTML pages found under {SITE_DIR}"
    print("display formulas still scrolling (no break point fits): "
          + ", ".join(f"{n} at {w} px" for w, n in site_pass.scrolling.items()))
    assert not problems, "clipped or uncued overflow:\n" + "\n".join(problems[:200])


# --------------------------------------------------------------------------
# static checks: links into op sections, and what the search index holds
# --------------------------------------------------------------------------

_ID_RE = re.compile(r'\bid="([^"]+)"')
_HREF_RE = re.compile(r'\bhref="([^"#:]+\.html)(?:#([^"]+))?"')


def test_home_page_op_links_resolve() -> None:
    """Every op named on the home page links to its own page (ops/<op>.html), or for the ops
    described family-wide to their family page's section, which must exist; and the family
    overviews keep the ids that op links used before the op pages (``#leaky_relu`` and
    ``#leaky-relu``), on the op's row."""
    _require_site()
    home = (SITE_DIR / "index.html").read_text()
    families = home[home.index('id="the-families"'):]
    links = _HREF_RE.findall(families)
    op_pages = [page for page, _ in links if page.startswith("ops/")]
    assert len(op_pages) > 50, f"the home page links to only {len(op_pages)} op pages"
    ids: dict[str, set[str]] = {}
    missing = []
    for page, frag in links:
        if not (SITE_DIR / page).is_file():
            missing.append(page)
            continue
        if page not in ids:
            ids[page] = set(_ID_RE.findall((SITE_DIR / page).read_text()))
        if frag and frag not in ids[page]:
            missing.append(f"{page}#{frag}")
    assert not missing, "home page links to pages or sections that do not exist: " + ", ".join(missing)
    overview = set(_ID_RE.findall((SITE_DIR / "activations.html").read_text()))
    assert {"leaky_relu", "leaky-relu", "gelu-tanh", "gelu_tanh"} <= overview
    assert {"max-pool2d", "max_pool2d"} <= set(_ID_RE.findall((SITE_DIR / "pooling.html").read_text()))


def test_search_finds_ops_by_torch_name() -> None:
    """The search index holds torch's qualified names at the top of each op's page, so a search
    for F.gelu or torch.nn.functional.softplus lands there."""
    _require_site()
    import json

    docs = json.loads((SITE_DIR / "search" / "search_index.json").read_text())["docs"]
    by_location = {d["location"]: d["text"] for d in docs}
    for loc, name in (("ops/gelu.html#gelu", "gelu"), ("ops/softplus.html#softplus", "softplus"),
                      ("ops/cross_entropy.html#cross-entropy", "cross_entropy"),
                      ("ops/max_pool2d.html#max-pool2d", "max_pool2d")):
        text = by_location.get(loc, "")
        assert f"torch.nn.functional.{name}" in text and f"F.{name}" in text, f"{loc} lacks torch's names"


def test_no_page_is_heavy() -> None:
    """Every built page's HTML stays under 300 KB (the op pages split the family pages that
    held every op)."""
    _require_site()
    heavy = {p.as_posix(): (SITE_DIR / p).stat().st_size for p in _built_pages()}
    assert not {p: n for p, n in heavy.items() if n > 300_000}, sorted(heavy.items(), key=lambda kv: -kv[1])[:5]


# (query, the page its first result must be on): torch's qualified names reach the op's page,
# and an op whose name begins another's (relu / relu6, tanh / tanhshrink) is found by its own
# name first, as is the longer one (pages.op_page.with_search_boost).
SEARCHES = (
    ("ReLU", "ops/relu.html"),
    ("relu6", "ops/relu6.html"),
    ("tanh", "ops/tanh.html"),
    ("tanhshrink", "ops/tanhshrink.html"),
    ("binary_cross_entropy", "ops/binary_cross_entropy.html"),
    ("binary_cross_entropy_with_logits", "ops/binary_cross_entropy_with_logits.html"),
    ("F.gelu", "ops/gelu.html"),
    ("torch.nn.functional.softplus", "ops/softplus.html"),
)


def test_site_search_finds_ops(site_server: tuple[str, list[str]]) -> None:
    chromium = _browser()
    from playwright.sync_api import sync_playwright

    base_url, _ = site_server
    wrong = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(base_url + "index.html", wait_until="load")
            for query, expected in SEARCHES:
                page.fill("input.md-search__input", "")
                page.type("input.md-search__input", query)
                # Results come from a web worker: wait until they are for this query.
                page.wait_for_function(
                    "(q) => document.querySelector('.md-search-result__meta')"
                    " && document.querySelector('input.md-search__input').value === q"
                    " && document.querySelectorAll('.md-search-result__link').length > 0",
                    arg=query, timeout=RENDER_TIMEOUT_MS)
                page.wait_for_timeout(500)
                hrefs = page.evaluate(
                    "() => Array.from(document.querySelectorAll('.md-search-result__link'))"
                    ".map(a => a.getAttribute('href'))")
                found = [h.split("#")[0] for h in hrefs]
                if not found or not found[0].endswith(expected):
                    wrong.append(f"{query!r}: first result {hrefs[:1]}, expected {expected}")
        finally:
            browser.close()
    assert not wrong, "search ranks the wrong page first:\n" + "\n".join(wrong)
