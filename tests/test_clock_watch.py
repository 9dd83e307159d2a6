"""ClockWatch: when the service's own clock is doubted (pure: a fake wall and monotonic clock)."""

from __future__ import annotations

from antre.clock import ClockWatch

DAY = 86400.0


class Clocks:
    def __init__(self):
        self.wall, self.mono = 1_796_000_000.0, 1000.0

    def run(self, seconds: float) -> None:
        self.wall += seconds
        self.mono += seconds


def watch(c: Clocks) -> ClockWatch:
    return ClockWatch(wall=lambda: c.wall, mono=lambda: c.mono)


def test_nothing_known_nothing_doubted():
    c = Clocks()
    w = watch(c)
    c.run(DAY)
    assert w.doubt() is None


def test_a_step_forward_is_doubted_until_a_device_confirms_or_it_steps_back():
    c = Clocks()
    w = watch(c)
    c.run(10)
    c.wall += DAY                                   # stepped, the monotonic clock did not move
    assert "set 1.0 days forward" in w.doubt()
    c.wall -= DAY                                   # set right again
    assert w.doubt() is None
    c.wall += 2 * 3600
    assert w.doubt() is not None
    w.observe("kiosk", c.wall + 3)                  # a device whose clock agrees with the new time
    assert w.doubt() is None
    assert w.doubt() is None                        # confirmed once and for all


def test_devices_outvote_our_clock_and_old_samples_follow_the_jump():
    c = Clocks()
    w = watch(c)
    w.observe("kiosk", c.wall)                      # heard before the jump: our clocks agree
    w.observe("loket", c.wall - 20)
    assert w.doubt() is None
    c.wall += DAY
    assert "2 device(s)" in w.doubt() and "behind ours" in w.doubt()
    assert abs(w.device_time() - (c.wall - DAY)) < 30
    c.run(3601)                                     # an hour without a word from them: forgotten
    assert w.devices() == ([], [])


def test_a_tie_trusts_our_clock():
    c = Clocks()
    w = watch(c)
    w.observe("kiosk", c.wall - DAY)                # one device a day behind (e.g. fake-hwclock) ...
    w.observe("loket", c.wall + 2)                  # ... one that agrees with us
    assert w.doubt() is None


def test_a_device_that_follows_our_step_is_no_confirmation():
    c = Clocks()
    w = watch(c)
    w.observe("web", c.wall)                        # the website on the same Pi
    w.observe("kiosk", c.wall + 1)                  # a kiosk with a clock of its own
    c.run(5)
    c.wall += DAY                                   # a bad NTP answer: a day forward
    w.observe("web", c.wall)                        # same machine: it stepped with us
    assert w.doubt() is not None                    # the kiosk (not stepped) disagrees; the web is no evidence
    c.run(60)
    w.observe("kiosk", c.wall)                      # minutes later the kiosk follows this server (timesyncd)
    assert w.doubt() is not None                    # ... still no confirmation: it stepped by as much as we did
    c.wall -= DAY                                   # the clock is set right
    w.observe("web", c.wall)
    w.observe("kiosk", c.wall)
    assert w.doubt() is None
