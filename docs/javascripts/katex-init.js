/*
 * nnref: typeset math on the documentation site with the vendored KaTeX.
 *
 * pymdownx.arithmatex (generic mode) leaves every formula as plain text in
 *   <span class="arithmatex">\( ... \)</span>   (inline)
 *   <div class="arithmatex">\[ ... \]</div>     (display)
 * This script strips those delimiters and hands the TeX to katex.render().
 *
 * Errors never abort the page: a bad formula becomes a `.katex-error`
 * element (KaTeX's own behaviour with throwOnError: false, or ours for any
 * other exception), which tests/test_site.py looks for.
 *
 * With mkdocs-material the page body can be swapped without a full reload
 * (instant navigation); material announces each new document on its global
 * `document$` observable, so we subscribe to that when it exists and fall
 * back to a plain DOMContentLoaded hook otherwise.
 */
(function () {
  "use strict";

  var DONE_ATTR = "data-nnref-katex";

  // [opening delimiter, closing delimiter, display mode]
  var WRAPPERS = [
    ["\\(", "\\)", false],
    ["\\[", "\\]", true]
  ];

  function unwrap(el) {
    var text = (el.textContent || "").trim();
    for (var i = 0; i < WRAPPERS.length; i++) {
      var open = WRAPPERS[i][0];
      var close = WRAPPERS[i][1];
      if (
        text.length >= open.length + close.length &&
        text.slice(0, open.length) === open &&
        text.slice(text.length - close.length) === close
      ) {
        return {
          tex: text.slice(open.length, text.length - close.length),
          display: WRAPPERS[i][2]
        };
      }
    }
    // No recognised wrapper: treat the whole text as TeX; block elements
    // are displayed, inline elements stay inline.
    return { tex: text, display: el.tagName !== "SPAN" };
  }

  function showError(el, tex, err) {
    var box = document.createElement("span");
    box.className = "katex-error";
    box.title = String(err && err.message ? err.message : err);
    box.style.color = "#cc0000";
    box.textContent = tex;
    el.textContent = "";
    el.appendChild(box);
  }

  function typeset(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var nodes = scope.querySelectorAll(".arithmatex");
    if (!nodes.length) {
      return;
    }
    if (typeof window.katex === "undefined") {
      console.error("katex-init.js: KaTeX is not loaded; math left as text");
      return;
    }
    // One macro table per page so \gdef in one formula is seen by later ones.
    var macros = {};
    for (var i = 0; i < nodes.length; i++) {
      var el = nodes[i];
      if (el.getAttribute(DONE_ATTR) === "1") {
        continue;
      }
      var parts = unwrap(el);
      try {
        window.katex.render(parts.tex, el, {
          displayMode: parts.display,
          throwOnError: false,
          errorColor: "#cc0000",
          macros: macros
        });
      } catch (err) {
        showError(el, parts.tex, err);
      }
      el.setAttribute(DONE_ATTR, "1");
    }
  }

  if (
    typeof window.document$ !== "undefined" &&
    window.document$ &&
    typeof window.document$.subscribe === "function"
  ) {
    window.document$.subscribe(function () {
      typeset(document);
    });
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      typeset(document);
    });
  } else {
    typeset(document);
  }

  // Exposed for manual re-rendering (e.g. from the browser console).
  window.nnrefTypeset = typeset;
})();
