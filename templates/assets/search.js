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
      text.textContent = hit.entry.x.slice(0, 180);
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
