"""'Minta petugas menghubungi saya' at the kiosk (kiosk/flows/callback.py) against the real service through
mosquitto: one step at a time with the kiosk's keys, each answer checked when *Lanjut* is pressed, the report in
the staff's inbox with the resident's contact (channel kiosk), the printed slip with the report's code on a TCP
printer; a kiosk cannot file a report as the website."""

from __future__ import annotations

import sqlite3

from antre_kiosk import texts
from antre_kiosk.flows.callback import DEFAULT_NOTE, CallbackFlow, slip
from tests.test_kiosk_flows import answer, kiosk_desk  # noqa: F401 (fixture)
from tests.test_letters import sign_in_staff


def test_callback_request_from_the_kiosk_reaches_the_inbox_and_prints_a_slip(tmp_path, kiosk_desk):
    desk = kiosk_desk('\n[web]\npublic_url = "https://desa.example"\n')
    office, k = desk.office, desk.k
    flow = CallbackFlow(k.gate, k.cfg.complaints.topics)

    def type_in(text: str) -> None:
        for ch in text:
            flow.key("space" if ch == " " else ch)

    assert flow.step == "category" and flow.next() == "cb_p_choice" and not flow.back()
    type_in("X")                                     # no typing on a choice step
    assert flow.typed == ""
    flow.choose("keluhan")                           # not a category
    assert flow.next() == "cb_p_choice"
    flow.choose("pengaduan")
    assert flow.next() is None and flow.step == "topic" and "infrastruktur" in flow.choices
    flow.choose("infrastruktur")
    assert flow.next() is None and flow.step == "name"
    type_in("B4DI")
    assert flow.next() == "cb_p_name"
    for _ in range(4):
        flow.key("del")
    type_in("BUDI SANTOSO")
    assert flow.next() is None and flow.step == "phone"
    type_in("0812-ABC")                              # only digits are keys here
    assert flow.typed == "0812" and flow.next() == "cb_p_phone"
    type_in("34567890")
    assert flow.next() is None and flow.step == "note"
    assert flow.next() == "done"                     # no note: the report says the resident asks for a call
    reply = answer(flow.submit)
    assert reply.ok, reply
    code = reply.result["code"]
    message = flow.sent(reply)
    assert message.title_key == "cb_sent" and flow.values == {}     # forgotten
    assert texts.text("cb_sent_body", "id", **message.values).startswith("Kode laporan: P-")
    data = desk.print_blocks(slip(reply.result, k.cfg.office, public_url=k.cfg.web.public_url))
    assert message.values["code"].encode() in data and f"/pengaduan/{code}".encode() in data
    assert b"BUDI" not in data and b"34567890" not in data                  # no personal data on the slip

    staff = sign_in_staff(office.client.ok)
    inbox = office.client.ok("complaint_list", **staff["kasi"])["items"]
    item = next(i for i in inbox if i["code"] == code)
    assert item["channel"] == "kiosk" and item["masked_name"] == "B*** S******"
    full = office.client.ok("complaint_get", complaint=item["id"], **staff["kasi"])
    assert full["contact_phone"] == "081234567890" and full["text"] == DEFAULT_NOTE and not full["anonymous"]
    # The kiosk files as the kiosk only.
    refused = answer(lambda done: k.gate.send("complaint_submit", {
        "category": "aspirasi", "topic": "lainnya", "text": "x", "anonymous": True, "channel": "web"}, done))
    assert not refused.ok and refused.code == "forbidden"
    db = sqlite3.connect(tmp_path / "antre.db")
    assert db.execute("SELECT count(*) FROM complaints").fetchone()[0] == 1
    db.close()
