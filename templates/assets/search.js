// Search over window.PLAYBOOK_SEARCH, built into the site: no server needed.
(function () {
  "use strict";
  var index = window.PLAYBOOK_SEARCH || [];
  var input = document.getElementById("search-q");
  var list = document.getElementById("search-results");
  var status = document.getElementById("search-status");
  if (!input || !list) { return; }

  function score(entry, words) {
    var title = entry.t.toLowerCase();
    var text = (entry.t + " " + entry.k + " " + entry.x).toLowerCase();
    var total = 0;
    for (var i = 0; i < words.length; i++) {
      if (text.indexOf(words[i]) === -1) { return 0; }
      total += title.indexOf(words[i]) !== -1 ? 3 : 1;
    }
    return total;
  }

  // A window of the text around the first match, cut at word boundaries, with every
  // match marked. Built from text nodes and <mark> elements: nothing is parsed as HTML.
  function snippet(into, text, words) {
    var lower = text.toLowerCase();
    var first = -1;
    words.forEach(function (word) {
      var at = lower.indexOf(word);
      if (at !== -1 && (first === -1 || at < first)) { first = at; }
    });
    var start = Math.max(0, first - 60);
    var end = Math.min(text.length, Math.max(first, 0) + 140);
    if (start > 0) { start = text.indexOf(" ", start) + 1 || start; }
    if (end < text.length) { end = text.lastIndexOf(" ", end) > start ? text.lastIndexOf(" ", end) : end; }
    var part = text.slice(start, end);
    var partLower = part.toLowerCase();
    var marks = [];
    words.forEach(function (word) {
      var from = 0, at;
      while ((at = partLower.indexOf(word, from)) !== -1) { marks.push([at, at + word.length]); from = at + word.length; }
    });
    marks.sort(function (a, b) { return a[0] - b[0]; });
    if (start > 0) { into.appendChild(document.createTextNode("… ")); }
    var position = 0;
    marks.forEach(function (m) {
      if (m[0] < position) { return; }
      into.appendChild(document.createTextNode(part.slice(position, m[0])));
      var mark = document.createElement("mark");
      mark.textContent = part.slice(m[0], m[1]);
      into.appendChild(mark);
      position = m[1];
    });
    into.appendChild(document.createTextNode(part.slice(position)));
    if (end < text.length) { into.appendChild(document.createTextNode(" …")); }
  }

  function run() {
    var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
    list.textContent = "";
    if (!words.length) { status.textContent = ""; return; }
    var hits = index
      .map(function (entry) { return { entry: entry, score: score(entry, words) }; })
      .filter(function (hit) { return hit.score > 0; })
      .sort(function (a, b) { return b.score - a.score || a.entry.t.localeCompare(b.entry.t); })
      .slice(0, 50);
    status.textContent = hits.length + (hits.length === 1 ? " result" : " results");
    hits.forEach(function (hit) {
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = hit.entry.u;
      link.textContent = hit.entry.t;
      var kind = document.createElement("span");
      kind.className = "muted small";
      kind.textContent = " " + hit.entry.k;
      var text = document.createElement("p");
      text.className = "small";
      snippet(text, hit.entry.x, words);
      item.appendChild(link);
      item.appendChild(kind);
      item.appendChild(text);
      list.appendChild(item);
    });
  }

  var query = new URLSearchParams(window.location.search).get("q");
  if (query) { input.value = query; }
  input.addEventListener("input", run);
  run();
})();
