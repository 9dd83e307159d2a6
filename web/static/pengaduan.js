// Live complaint status: the server sends the texts; this puts them in place. No build step, no library.
(function () {
  "use strict";
  var box = document.getElementById("complaint");
  if (!box || !window.EventSource) return;
  var final = { ditolak: 1, bukan_wewenang: 1 };
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
    set("refer-text", v.refer_to);
    show("refer", !!v.refer_to);
    show("rate", v.can_rate);
    show("add", v.can_add);
    box.setAttribute("data-status", v.status);
    var list = document.getElementById("thread");
    if (list) {
      list.textContent = "";
      v.thread.forEach(function (m) {
        var li = document.createElement("li"), small = document.createElement("small"), p = document.createElement("p");
        li.className = "msg-" + m.kind;
        small.textContent = m.who + " · " + m.at;
        p.textContent = m.text;
        li.appendChild(small);
        li.appendChild(p);
        list.appendChild(li);
      });
    }
    live.textContent = live.getAttribute("data-live");
    if (final[v.status]) source.close();
  };
  source.onerror = function () {
    if (source.readyState === EventSource.CLOSED) return;
    live.textContent = live.getAttribute("data-lost");
  };
  source.onopen = function () { live.textContent = live.getAttribute("data-live"); };
})();
