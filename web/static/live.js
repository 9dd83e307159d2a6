// A page that follows its ticket, letter or complaint live: one EventSource loop for them all. The server
// sends the texts; the page's own function puts them in place. No build step, no library.
//   antreLive({box: "ticket", attr: "data-state", key: "state", final: {done: 1}, update: function (v, page) {...}})
// update(v, page) may return words to add after "live" (the time of the update).
window.antreLive = function (o) {
  "use strict";
  var box = document.getElementById(o.box);
  if (!box || !window.EventSource) return;
  if (o.final[box.getAttribute(o.attr)]) return;   // nothing will change any more
  var live = document.getElementById("live");
  var source = new EventSource(box.getAttribute("data-events"));
  var page = {
    box: box,
    set: function (id, value) {
      var el = document.getElementById(id);
      if (el && value != null && el.textContent !== value) el.textContent = value;
    },
    show: function (id, on) { var el = document.getElementById(id); if (el) el.hidden = !on; }
  };
  source.onmessage = function (e) {
    var v;
    try { v = JSON.parse(e.data); } catch (err) { return; }
    if (v.error) { source.close(); return; }
    var extra = o.update(v, page);
    box.setAttribute(o.attr, v[o.key]);
    live.textContent = extra ? live.getAttribute("data-live").replace(/\.$/, "") + " · " + extra
                             : live.getAttribute("data-live");
    if (o.final[v[o.key]]) source.close();
  };
  source.onerror = function () {
    if (source.readyState === EventSource.CLOSED) return;
    live.textContent = live.getAttribute("data-lost");
  };
  source.onopen = function () { live.textContent = live.getAttribute("data-live"); };
};
