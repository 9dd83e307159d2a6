// Live letter status: the server sends the texts; this puts them in place. No build step, no library.
(function () {
  "use strict";
  var box = document.getElementById("letter");
  if (!box || !window.EventSource) return;
  var final = { sudah_diambil: 1, dibatalkan: 1 };
  if (final[box.getAttribute("data-status")]) return;
  var live = document.getElementById("live");
  var source = new EventSource(box.getAttribute("data-events"));
  function set(id, value) {
    var el = document.getElementById(id);
    if (el && value != null && el.textContent !== value) el.textContent = value;
  }
  function show(id, on) { var el = document.getElementById(id); if (el) el.hidden = !on; }
  source.onmessage = function (e) {
    var v;
    try { v = JSON.parse(e.data); } catch (err) { return; }
    set("status", v.status_text);
    set("do", v.do_text);
    set("reason-text", v.reason);
    show("reason", !!v.reason);
    set("number", v.number || "—");
    set("due", v.due);
    show("overdue", v.overdue);
    show("cancel", v.can_cancel);
    box.setAttribute("data-status", v.status);
    var list = document.getElementById("history");
    if (list) {
      list.textContent = "";
      v.history.forEach(function (h) {
        var li = document.createElement("li");
        li.textContent = h.at + " " + h.time + " — " + h.status + (h.reason ? ": " + h.reason : "");
        list.appendChild(li);
      });
    }
    live.textContent = live.getAttribute("data-live");
    if (v.status === "siap_diambil" && navigator.vibrate) navigator.vibrate([300, 150, 300]);
    if (final[v.status]) source.close();
  };
  source.onerror = function () {
    if (source.readyState === EventSource.CLOSED) return;
    live.textContent = live.getAttribute("data-lost");
  };
  source.onopen = function () { live.textContent = live.getAttribute("data-live"); };
})();
