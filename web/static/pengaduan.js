// Live complaint status (live.js does the listening): the status, the reason, and the conversation.
window.antreLive({box: "complaint", attr: "data-status", key: "status", final: {ditolak: 1, bukan_wewenang: 1},
  update: function (v, page) {
    page.set("status", v.status_text);
    page.set("do", v.do_text);
    page.set("reason-text", v.reason);
    page.show("reason", !!v.reason);
    page.set("refer-text", v.refer_to);
    page.show("refer", !!v.refer_to);
    page.show("rate", v.can_rate);
    page.show("add", v.can_add);
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
  }});
