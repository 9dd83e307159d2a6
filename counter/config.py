"""The counter's table of antre.toml, ``[counter]`` with its ``[[counter.gpio]]`` and
``[[counter.keyboard]]`` wiring: declared here, next to the code that reads it.

``antre.config`` finds :data:`SECTION` through the ``antre.config`` entry point in pyproject.toml
(docs/architecture.md says where a new option goes).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from antre.config import Config, Section, checked, in_range, positive, slug
from antre.errors import ConfigError


@dataclass(frozen=True)
class GpioCounterConfig:
    """One counter's wiring. Pins are BCM numbers (GPIO17 is 17); 0 means not wired."""
    counter: str = checked(check=slug)
    next: int = checked(0, check=in_range(0, 27))
    recall: int = checked(0, check=in_range(0, 27))
    skip: int = checked(0, check=in_range(0, 27))
    done: int = checked(0, check=in_range(0, 27))
    pause: int = checked(0, check=in_range(0, 27))
    transfer: int = checked(0, check=in_range(0, 27))
    transfer_service: str = ""
    led: int = checked(0, check=in_range(0, 27))
    buzzer: int = checked(0, check=in_range(0, 27))
    pull_up: bool = True
    bounce_time: float = checked(0.05, check=in_range(0.0, 1.0), doc="seconds")
    hold_next_skips: bool = False
    hold_time: float = checked(2.0, check=positive, doc="seconds")


@dataclass(frozen=True)
class KeyboardCounterConfig:
    counter: str = checked(check=slug)
    device: str = checked("stdin", doc="'stdin' or an evdev path such as /dev/input/by-id/usb-...-kbd")
    keys: dict[str, str] = field(default_factory=lambda: {
        "next": "+", "recall": "*", "skip": "-", "done": "enter", "pause": "/", "transfer": ".",
    })
    transfer_service: str = ""


@dataclass(frozen=True)
class CounterAppConfig:
    client_id: str = checked("", doc="empty: 'counter-' plus the host name")
    request_timeout: float = checked(3.0, check=positive, doc="seconds to wait for the service's reply")
    gpio: list[GpioCounterConfig] = field(default_factory=list)
    keyboard: list[KeyboardCounterConfig] = field(default_factory=list)



def _check(cfg: Config) -> None:
    for entry in (*cfg.counter.gpio, *cfg.counter.keyboard):
        if cfg.counter_by_id(entry.counter) is None:
            raise ConfigError(f"{cfg.source}: [counter] wiring names unknown counter '{entry.counter}'")


SECTION = Section("counter", CounterAppConfig, position=20, check=_check)
