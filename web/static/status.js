// Live status: the server sends the texts; this only puts them in place. No build step, no library.
(function () {
  "use strict";
  var box = document.getElementById("ticket");
  if (!box || !window.EventSource) return;
  var live = document.getElementById("live");
  var ended = { done: 1, no_show: 1, expired: 1 };
  if (ended[box.getAttribute("data-state")]) return;   // nothing will change any more
  var source = new EventSource(box.getAttribute("data-events"));
  function set(id, value) {
    var el = document.getElementById(id);
    if (el && value != null && el.textContent !== value) el.textContent = value;
  }
  source.onmessage = function (e) {
    var v;
    try { v = JSON.parse(e.data); } catch (err) { return; }
    if (v.error) { source.close(); return; }
    set("state", v.state_text);
    set("ahead", v.ahead_text);
    set("estimate", v.estimate_text);
    box.classList.toggle("called", !!v.called);
    box.setAttribute("data-state", v.state);
    live.textContent = live.getAttribute("data-live") + " · " + v.updated;
    if (v.called && navigator.vibrate) navigator.vibrate([300, 150, 300]);
    if (ended[v.state]) source.close();
  };
  source.onerror = function () {
    if (source.readyState === EventSource.CLOSED) return;
    live.textContent = live.getAttribute("data-lost");
  };
  source.onopen = function () { live.textContent = live.getAttribute("data-live"); };
})();
