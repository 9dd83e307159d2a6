"""How many requirement lines each command takes, through the real service on a real mosquitto: a service's
(office_set, the kasi's 'Kantor' page: 30 lines) and a letter type's (letter_type_update, the catalogue form:
20). antre/link/protocol.py once defined its check twice and the later one (20 lines) won for both, so the
kasi's lines 21-30 of a service were refused although the office rules and the form allow them."""

from __future__ import annotations

from antre.config import LETTER_REQUIREMENTS, SERVICE_REQUIREMENTS
from antre.rules.office import MAX_REQUIREMENTS
from tests.test_letters import sign_in_staff
from tests.test_reply_size import start_running


def test_each_command_takes_the_lines_its_rules_and_form_allow(tmp_path):
    assert SERVICE_REQUIREMENTS == MAX_REQUIREMENTS == 30 and LETTER_REQUIREMENTS == 20
    b, server, web = start_running(tmp_path)
    try:
        kasi = sign_in_staff(web.ok)["kasi"]["session"]
        service = web.ok("office_settings")["services"][0]["code"]
        lines = [f"Syarat {n:02d}:  fotokopi   KTP" for n in range(1, 31)]
        web.ok("office_set", session=kasi, service=service, requirements=lines)
        kept = next(s for s in web.ok("office_settings")["services"] if s["code"] == service)
        assert kept["requirements"] == [" ".join(line.split()) for line in lines]
        assert web.wait_state(lambda s: any(len(x.get("requirements", [])) == 30 for x in s["services"]))
        assert web.error("office_set", session=kasi, service=service,
                         requirements=lines + ["Syarat 31"]) == "invalid_argument"
        assert web.error("office_set", session=kasi, service=service, requirements=["x" * 201]) == "invalid_argument"
        web.ok("office_set", session=kasi, service=service, requirements=["KTP", "  ", "KK"])   # a blank line left out
        kept = next(s for s in web.ok("office_settings")["services"] if s["code"] == service)
        assert kept["requirements"] == ["KTP", "KK"]

        letter = web.ok("letter_catalogue", forms=True)["types"][0]["code"]
        twenty = [f"Dokumen {n:02d}" for n in range(1, 21)]
        assert web.ok("letter_type_update", type=letter, requirements=twenty,
                      session=kasi)["overrides"]["requirements"] == twenty
        assert web.error("letter_type_update", type=letter, requirements=twenty + ["Dokumen 21"],
                         session=kasi) == "invalid_argument"
        assert web.error("letter_type_update", type=letter, requirements=["KTP", " "],
                         session=kasi) == "invalid_argument"
        assert server.link.connected.is_set()
    finally:
        web.stop()
        server.stop()
        b.stop()


def test_text_that_is_not_unicode_is_refused_clearly(tmp_path):
    """A lone surrogate (JSON's \\ud800, which UTF-8 cannot hold) in a requirement or a purpose passed the
    protocol's text checks and failed in SQLite: the kasi's console got internal_error. Now invalid_argument,
    naming the argument; nothing is stored and the service goes on."""
    b, server, web = start_running(tmp_path)
    try:
        kasi = sign_in_staff(web.ok)["kasi"]["session"]
        service = web.ok("office_settings")["services"][0]["code"]
        letter = web.ok("letter_catalogue", forms=True)["types"][0]["code"]
        for command, args in (("office_set", {"service": service, "requirements": ["KTP \ud800"]}),
                              ("letter_type_update", {"type": letter, "requirements": ["KK", "x\udfff"]}),
                              ("letter_type_update", {"type": letter, "purpose": "Untuk \udc80 apa saja"})):
            reply = web.request(command, session=kasi, **args)
            assert (reply.code, "surrogate" in (reply.message or "")) == ("invalid_argument", True), reply
        assert web.ok("letter_catalogue")["overrides"] == {}
        assert web.ok("office_set", session=kasi, service=service, requirements=["KTP 🏠 é"])   # real Unicode is fine
        assert server.link.connected.is_set()
    finally:
        web.stop()
        server.stop()
        b.stop()
