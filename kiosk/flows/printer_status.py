"""The printer's state for staff: published in the kiosk's presence message, checked again periodically."""

from __future__ import annotations

from collections.abc import Callable

from antre.link.mqtt import MqttLink

from ..printer import PrintResult, TicketPrinter

#: A healthy printer is checked this many times less often than one in trouble.
HEALTHY_FACTOR = 4


class PrinterStatus:
    """Publishes the printer's state (``printer``, ``printer_message``) on the kiosk's status topic.

    A printer in trouble is checked every ``check_seconds`` (``[kiosk] printer_check_seconds``),
    a healthy one :data:`HEALTHY_FACTOR` times less often.
    """

    def __init__(self, printer: TicketPrinter, link: MqttLink, *, check_seconds: float):
        self.printer = printer
        self.link = link
        self.check_seconds = check_seconds

    def publish(self, status: str, message: str) -> None:
        self.link.set_status(printer=status, printer_message=message)

    def publish_current(self) -> None:
        self.publish(self.printer.status, self.printer.status_message)

    def check(self, on_done: Callable[[PrintResult], None]) -> bool:
        """Asks the printer how it is (on its own thread); False when no printer is configured."""
        if not self.printer.enabled:
            return False
        self.printer.check(on_done=on_done)
        return True

    def checked(self, result: PrintResult) -> float:
        """Publishes a check's result; returns the seconds until the next check."""
        self.publish(result.status, result.message)
        return self.check_seconds * HEALTHY_FACTOR if result.status == "ok" else self.check_seconds

    def printed(self, result: PrintResult) -> None:
        """Publishes the state a print job left the printer in."""
        self.publish(result.status, result.message)
