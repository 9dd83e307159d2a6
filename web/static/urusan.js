// "Semua urusan saya": asks for the list's statuses every 30 s and puts the texts in place. No library.
(function () {
  "use strict";
  var list = document.getElementById("items");
  var until = document.getElementById("until");
  if (!list || !window.fetch) return;
  function refresh() {
    fetch("/urusan/data", { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (r.status === 401) { until.textContent = until.getAttribute("data-ended"); clearInterval(timer); return null; }
      return r.ok ? r.json() : null;
    }).then(function (v) {
      if (!v || !v.items) return;
      v.items.forEach(function (i) {
        var row = document.getElementById(i.id);
        var el = row && row.querySelector("[data-status]");
        if (el && el.textContent !== i.status) el.textContent = i.status;
      });
    }).catch(function () {});
  }
  var timer = setInterval(refresh, 30000);
})();
