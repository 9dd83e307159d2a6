// Live ticket status (live.js does the listening): the waiting count, the estimate, and "called".
window.antreLive({box: "ticket", attr: "data-state", key: "state", final: {done: 1, no_show: 1, expired: 1},
  update: function (v, page) {
    page.set("state", v.state_text);
    page.set("ahead", v.ahead_text);
    page.set("estimate", v.estimate_text);
    page.box.classList.toggle("called", !!v.called);
    if (v.called && navigator.vibrate) navigator.vibrate([300, 150, 300]);
    return v.updated;
  }});
