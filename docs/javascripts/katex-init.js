/*
 * nnref: typeset math on the documentation site with the vendored KaTeX.
 *
 * pymdownx.arithmatex (generic mode) leaves every formula as plain text in
 *   <span class="arithmatex">\( ... \)</span>   (inline)
 *   <div class="arithmatex">\[ ... \]</div>     (display)
 * This script strips those delimiters and hands the TeX to katex.render().
 *
 * A display formula wider than its column is broken over lines (breakLong):
 * at the first top-level "=", then at top-level binary "+" / "-", and a line
 * that is still too wide between the factors of a product (a "\,", the cut
 * marked with a centred dot); lines are packed greedily by the widths KaTeX
 * renders at this screen width, so a phone gets more lines than a desktop,
 * and a resize lays them out again.  Only top-level points are used: a break
 * inside braces, brackets, \left...\right or an environment would not
 * typeset or would misread.  What still does not fit (one indivisible term,
 * a wide `cases`) scrolls inside its box with the shadow cue of nnref.css.
 * When every formula is laid out, <body> gets data-nnref-math="done" (the
 * site test waits for it).
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

  // Commands after which a sign is unary (relations and operators), commands that only
  // space (they leave the token before them as it was), and commands whose braced argument
  // is a function's name (no product break right after it: \operatorname{Var}\,U).
  var OPERATOR_CMDS = /^(le|ge|leq|geq|lt|gt|neq|ne|approx|equiv|sim|cdot|times|pm|mp|div|to|mapsto|in|wedge|vee|land|lor)$/;
  var SPACE_CMDS = /^(,|;|:|!| |quad|qquad|enspace|thinspace)$/;
  var NAME_ARG_CMDS = /^(operatorname|mathrm|text|mathbb|mathcal|mathbf|boldsymbol)$/;
  var FUNCTION_CMDS = /^(log|ln|exp|sin|cos|tan|sinh|cosh|tanh|max|min|det|Pr|arg)$/;

  // Top-level break points of a TeX string: [{at, kind}] with kind "rel" (the first "=",
  // not of := <= >= !=), "op" (a binary + or -) or "mul" (a thin space between two factors,
  // not before a differential dz nor after a function's name).  Top level means outside
  // braces, \left...\right, \begin...\end, plain ( ) [ ] and \{ \} (a plain bracket's depth
  // never goes below 0, so a half-open interval [0, 1) does no harm); a sign right after a
  // relation, an operator, an opening or a sub- or superscript mark is unary.
  function breakPoints(tex) {
    var out = [], depth = 0, round = 0, sawRel = false, prev = "", afterName = false;
    var braces = [];  // for each open brace: did a NAME_ARG_CMDS command open it
    for (var i = 0; i < tex.length; i++) {
      var c = tex.charAt(i);
      var top = depth === 0 && round === 0;
      if (c === "\\") {
        var m = /^\\([a-zA-Z]+|.)/.exec(tex.slice(i));
        var name = m ? m[1] : "";
        i += name.length;
        if (name === "left" || name === "begin") depth += 1;
        else if (name === "right" || name === "end") depth -= 1;
        else if (depth === 0 && (name === "\\" || name === "tag")) return [];  // already laid out
        else if (name === "{") { round += 1; prev = "("; continue; }  // a set's brace
        else if (name === "}") { round = Math.max(0, round - 1); prev = "x"; continue; }
        if (name === "left" || name === "right") {
          i += 1;  // the delimiter that follows (\left( \right. \left\{) is part of the command
          if (tex.charAt(i) === "\\") i += (/^\\([a-zA-Z]+|.)/.exec(tex.slice(i)) || ["", ""])[1].length;
          prev = name === "left" ? "(" : "x";
          afterName = false;
          continue;
        }
        if (name === ",") {
          var next = tex.slice(i + 1).replace(/^\s+/, "");
          var differential = /^(d[a-zA-Z]|\\mathrm\{d\}|\\,)/.test(next);
          if (top && prev && prev !== "=" && prev !== "(" && !afterName && !differential) {
            out.push({ at: i - 1, kind: "mul" });
          }
          continue;  // spacing: the token before it stays the one that decides
        }
        if (SPACE_CMDS.test(name)) continue;
        if (name === "sqrt" && tex.charAt(i + 1) === "[") { round += 1; i += 1; prev = "("; continue; }
        prev = OPERATOR_CMDS.test(name) ? "=" : "x";
        afterName = FUNCTION_CMDS.test(name) && tex.charAt(i + 1) !== "{";
        if (NAME_ARG_CMDS.test(name) && tex.charAt(i + 1) === "{") { braces.push(true); depth += 1; i += 1; }
        continue;
      }
      if (c === " ") continue;
      if (c === "{") { braces.push(false); depth += 1; prev = "("; continue; }
      if (c === "}") {
        depth -= 1;
        afterName = braces.pop() === true && depth === 0;
        prev = "x";
        continue;
      }
      if (c === "(" || c === "[") { round += 1; prev = "("; afterName = false; continue; }
      if (c === ")" || c === "]") { round = Math.max(0, round - 1); prev = "x"; continue; }
      if (top && c === "&") return [];
      if (top && c === "=" && !sawRel && ":<>!".indexOf(prev) < 0) {
        out.push({ at: i, kind: "rel" });
        sawRel = true;
      } else if (top && (c === "+" || c === "-") && prev && "=+-(,&<>:^_;!".indexOf(prev) < 0) {
        out.push({ at: i, kind: "op" });
      }
      prev = c;
      afterName = false;
    }
    return out;
  }

  // The width one line takes, measured in the layout it will have (an aligned row).
  function lineWidth(line, probe) {
    window.katex.render("\\begin{aligned} & " + line + " \\end{aligned}", probe,
                        { displayMode: true, throwOnError: true, macros: {} });
    return probe.getBoundingClientRect().width;
  }

  function split(tex, kinds) {
    var points = breakPoints(tex).filter(function (p) { return kinds.indexOf(p.kind) >= 0; });
    var pieces = [], start = 0;
    for (var i = 0; i < points.length; i++) {
      pieces.push(tex.slice(start, points[i].at).trim());
      start = points[i].at;
    }
    pieces.push(tex.slice(start).trim());
    return pieces;
  }

  // Greedy: each piece joins the line before it while the line still fits.
  function pack(pieces, first, room, probe) {
    var lines = [pieces[0]];
    for (var k = 1; k < pieces.length; k++) {
      var last = lines.length - 1;
      var joined = lines[last] + " " + pieces[k];
      if (lineWidth((last || !first ? "\\quad " : "") + joined, probe) <= room) lines[last] = joined;
      else lines.push(pieces[k]);
    }
    return lines;
  }

  // Lay a formula out over as many lines as the column needs: at sums first; a line
  // that is one long product is then cut between factors, the cut marked with a dot.
  function breakOne(el, tex) {
    var room = el.clientWidth;
    if (room <= 0 || el.scrollWidth <= el.clientWidth + 1) return;
    if (!breakPoints(tex).length) return;
    var probe = document.createElement("div");
    probe.className = el.className;
    probe.style.cssText = "position:absolute;visibility:hidden;left:-99999px;width:auto;white-space:nowrap";
    el.parentNode.appendChild(probe);
    try {
      var lines = [];
      var sums = pack(split(tex, ["rel", "op"]), true, room, probe);
      for (var i = 0; i < sums.length; i++) {
        var line = sums[i];
        if (lineWidth((i ? "\\quad " : "") + line, probe) <= room) {
          lines.push(line);
          continue;
        }
        var factors = split(line, ["mul"]).map(function (f, k) {
          return k ? "\\cdot " + f.replace(/^\\,\s*/, "") : f;
        });
        lines = lines.concat(pack(factors, i === 0, room, probe));
      }
      if (lines.length < 2) return;
      var body = "\\begin{aligned} & " + lines[0];
      for (var n = 1; n < lines.length; n++) body += " \\\\ & \\quad " + lines[n];
      body += " \\end{aligned}";
      window.katex.render(body, el, { displayMode: true, throwOnError: true, macros: {} });
    } catch (err) {
      // Keep the one-line rendering (it scrolls) rather than lose the formula.
      window.katex.render(tex, el, { displayMode: true, throwOnError: false, macros: {} });
    } finally {
      probe.parentNode.removeChild(probe);
    }
  }

  var TEX_ATTR = "data-nnref-tex";

  function breakLong(scope) {
    var nodes = scope.querySelectorAll("div.arithmatex[" + TEX_ATTR + "]");
    for (var i = 0; i < nodes.length; i++) {
      var el = nodes[i];
      if (el.offsetParent === null) continue;  // hidden (a closed <details>): no width to fit
      breakOne(el, el.getAttribute(TEX_ATTR));
    }
  }

  // A formula in a closed <details> has no width until it is opened.
  document.addEventListener("toggle", function (ev) {
    if (ev.target && ev.target.open && ev.target.querySelectorAll) breakLong(ev.target);
  }, true);

  function typeset(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var nodes = scope.querySelectorAll(".arithmatex");
    if (!nodes.length) {
      document.body.setAttribute("data-nnref-math", "done");
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
      if (parts.display) el.setAttribute(TEX_ATTR, parts.tex);
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
    // Widths are only right once KaTeX's fonts are in.
    var fonts = document.fonts && document.fonts.ready ? document.fonts.ready : Promise.resolve();
    fonts.then(function () {
      breakLong(scope);
      document.body.setAttribute("data-nnref-math", "done");
    });
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
  // Exposed for tests/test_site.py, which checks the break points on written cases and that
  // a formula that could break did.
  window.nnrefBreakPoints = breakPoints;
  window.nnrefBreakLong = breakLong;

  // A new width (a rotated phone, a resized window): every display formula from its TeX
  // again, then broken for the width it now has.
  var lastWidth = window.innerWidth, resizeTimer = null;
  window.addEventListener("resize", function () {
    if (window.innerWidth === lastWidth) return;
    lastWidth = window.innerWidth;
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(function () {
      var nodes = document.querySelectorAll("div.arithmatex[" + TEX_ATTR + "]");
      for (var i = 0; i < nodes.length; i++) {
        try {
          window.katex.render(nodes[i].getAttribute(TEX_ATTR), nodes[i],
                              { displayMode: true, throwOnError: false, macros: {} });
        } catch (err) {
          showError(nodes[i], nodes[i].getAttribute(TEX_ATTR), err);
        }
      }
      breakLong(document);
      document.body.setAttribute("data-nnref-math", "done");
    }, 150);
  });
})();
