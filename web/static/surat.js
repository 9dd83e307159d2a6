// Live letter status (live.js does the listening): the status, number, due date and history.
window.antreLive({box: "letter", attr: "data-status", key: "status", final: {sudah_diambil: 1, dibatalkan: 1},
  update: function (v, page) {
    page.set("status", v.status_text);
    page.set("do", v.do_text);
    page.set("reason-text", v.reason);
    page.show("reason", !!v.reason);
    page.set("number", v.number || "—");
    page.set("due", v.due);
    page.show("overdue", v.overdue);
    page.show("cancel", v.can_cancel);
    var list = document.getElementById("history");
    if (list) {
      list.textContent = "";
      v.history.forEach(function (h) {
        var li = document.createElement("li");
        li.textContent = h.at + " " + h.time + " — " + h.status + (h.reason ? ": " + h.reason : "");
        list.appendChild(li);
      });
    }
    if (v.status === "siap_diambil" && navigator.vibrate) navigator.vibrate([300, 150, 300]);
  }});
