// The staff console's virtual counter: keyboard shortcuts, and a fresh page every few seconds while idle.
// Without JavaScript the buttons work the same (plain forms); nothing is queued or sent later.
(function () {
  "use strict";
  var keys = document.getElementById("keys");
  if (!keys) return;
  var sent = false;
  function typing(el) {
    return el && (el.tagName === "INPUT" || el.tagName === "SELECT" || el.tagName === "TEXTAREA");
  }
  document.addEventListener("keydown", function (e) {
    if (sent || e.ctrlKey || e.altKey || e.metaKey || typing(document.activeElement)) return;
    var key = e.key === "Enter" ? "enter" : e.key.toLowerCase();
    var buttons = keys.querySelectorAll("button[data-keys]");
    for (var i = 0; i < buttons.length; i++) {
      if (buttons[i].getAttribute("data-keys").split(" ").indexOf(key) >= 0) {
        e.preventDefault();
        if (!buttons[i].disabled) { sent = true; buttons[i].click(); }
        return;
      }
    }
  });
  // One press per page: a second click while the first is on its way is not sent twice.
  document.addEventListener("submit", function () { sent = true; });
  // The board changes as others call: reload while nobody is typing (the form's request id is new each time).
  setInterval(function () {
    if (!sent && !typing(document.activeElement) && document.visibilityState === "visible") {
      var url = location.pathname + "?loket=" + encodeURIComponent(document.getElementById("vcounter").dataset.counter);
      location.replace(url);
    }
  }, 10000);
})();
