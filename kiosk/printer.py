"""Ticket printers: a transport chosen by URL, and a worker that never blocks the kiosk.

The printer is named by one URL (config key ``kiosk.printer``):

=============================  ==============================================================
``none``                       no printer; every ticket is "not printed" (status ``disabled``)
``usb://0416:5011``            USB, vendor:product id in hex (``lsusb``); needs ``pyusb``.
                               Optional ``?in_ep=0x82&out_ep=0x01``
``tcp://192.168.1.50:9100``    network printer (raw port 9100 when the port is left out)
``serial:///dev/ttyUSB0``      serial; ``?baudrate=19200`` (default 9600); needs ``pyserial``
``file:///dev/usb/lp0``        a device file written directly (the kernel's ``usblp`` driver)
``cups://POS58``               a CUPS queue (raw); needs ``pycups``
``dummy://``                   records the bytes in memory and prints nothing (development)
=============================  ==============================================================

Any URL may add ``?profile=NAME`` with a python-escpos printer profile such as
``TM-T20II`` or ``POS-5890``; printers whose profile lacks native QR codes get the
QR code as a picture.

:class:`TicketPrinter` prints on its own thread and always answers, within the
timeout, with a :class:`PrintResult`::

    printer = TicketPrinter("tcp://192.168.1.50:9100", timeout=8.0, paper_width=80)
    printer.submit(info, cfg.office, on_done=lambda result: ...)   # returns at once
    printer.status          # "ok", "disabled", "offline", "paper_out", "paper_near_end", "error"
    printer.status_message  # "Kertas printer habis." ...

``on_done`` runs on the printer's thread: a Kivy app hands it to the main thread
with ``Clock.schedule_once`` (or ``@mainthread``).
"""

from __future__ import annotations

import concurrent.futures
import logging
import os
import queue
import select
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Sequence
from urllib.parse import parse_qs, unquote, urlsplit

from antre.errors import AntreError

from . import ticket as ticket_mod

if TYPE_CHECKING:  # pragma: no cover
    from escpos.escpos import Escpos

    from antre.config import OfficeConfig

    from .config import KioskConfig

log = logging.getLogger(__name__)

#: Bytes the kernel may hold for a network printer before a send blocks.
SEND_BUFFER = 32 * 1024

STATUSES = ("ok", "disabled", "offline", "paper_out", "paper_near_end", "error")

MESSAGES = {
    "id": {
        "ok": "Printer siap.",
        "disabled": "Printer tiket tidak dipasang.",
        "offline": "Printer tidak terhubung atau tidak menjawab.",
        "paper_out": "Kertas printer habis.",
        "paper_near_end": "Kertas printer hampir habis. Segera ganti gulungan kertas.",
        "error": "Printer mengalami gangguan.",
        "printed": "Silakan ambil tiket Anda.",
        "not_printed": "Tiket tidak dapat dicetak. Silakan catat nomor antrean Anda: {number}.",
    },
    "en": {
        "ok": "Printer ready.",
        "disabled": "No ticket printer is installed.",
        "offline": "The printer is not connected or does not answer.",
        "paper_out": "The printer is out of paper.",
        "paper_near_end": "The printer's paper is nearly used up. Change the roll soon.",
        "error": "The printer has a problem.",
        "printed": "Please take your ticket.",
        "not_printed": "The ticket could not be printed. Please write down your number: {number}.",
    },
}


class PrinterError(AntreError, OSError):
    """The printer cannot be used. ``status`` is one of :data:`STATUSES`; the message is for logs."""

    def __init__(self, status: str, detail: str):
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class PrintResult:
    """How a print job (or a status check) ended.

    ``ok`` is True when the ticket went to the printer (with ``paper_near_end`` it
    still printed). When it is False the kiosk shows :attr:`resident_message`
    ("Silakan catat nomor antrean Anda: A-012") instead of "take your ticket".
    """
    ok: bool
    status: str
    detail: str = ""
    number: str | None = None

    @property
    def message(self) -> str:
        """The printer's state for staff, in Bahasa Indonesia."""
        return MESSAGES["id"][self.status]

    def resident_message(self, lang: str = "id") -> str:
        """What the kiosk tells the resident about this ticket."""
        texts = MESSAGES.get(lang, MESSAGES["id"])
        if self.ok:
            return texts["printed"]
        return texts["not_printed"].format(number=self.number or "-")


# --------------------------------------------------------------------------
# Transports.
# --------------------------------------------------------------------------

def _escpos_classes() -> Any:
    import escpos.printer as printers
    return printers


class _TimedFile:
    """A device file (``/dev/usb/lp0``) written without ever blocking past a deadline.

    python-escpos's ``File`` opens the file in blocking mode: a printer that is
    switched off can then hold a write for ever. This one opens it non-blocking and
    waits with ``select`` for at most ``timeout`` seconds per write.
    """

    def __new__(cls, devfile: str, timeout: float, **kwargs: Any) -> Any:
        printers = _escpos_classes()

        class TimedFile(printers.File):
            def open(self, raise_not_found: bool = True) -> None:
                if self._device:
                    self.close()
                fd = os.open(self.devfile, os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
                if os.path.isfile(self.devfile):
                    os.ftruncate(fd, 0)
                self.device = os.fdopen(fd, "wb", buffering=0)

            def _raw(self, msg: bytes) -> None:
                fd = self.device.fileno()
                view = memoryview(msg)
                while view:
                    _, writable, _ = select.select([], [fd], [], self.write_timeout)
                    if not writable:
                        raise TimeoutError(f"{self.devfile}: printer did not take data within "
                                           f"{self.write_timeout:g} s")
                    try:
                        n = os.write(fd, view)
                    except BlockingIOError:
                        continue
                    view = view[n:]

            def close(self) -> None:
                if not self._device:
                    return
                self._device.close()
                self._device = False

        p = TimedFile(devfile=devfile, **kwargs)
        p.write_timeout = timeout
        return p


def _network(host: str, port: int, timeout: float, **kwargs: Any) -> Any:
    printers = _escpos_classes()

    class Network(printers.Network):
        """python-escpos ``Network`` with a small send buffer, so a send that returns means
        the printer has taken nearly all of it (Linux would otherwise queue megabytes for a
        printer that stopped reading), and that reads any late status answer before
        closing, so the kernel does not reset the connection and drop the ticket's tail."""

        def open(self, raise_not_found: bool = True) -> None:
            super().open(raise_not_found)
            if self._device:
                self._device.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)

        def close(self) -> None:
            sock = self._device
            if not sock:
                return
            try:
                sock.setblocking(False)
                while sock.recv(256):
                    pass
            except OSError:
                pass
            super().close()

    return Network(host=host, port=port, timeout=timeout, **kwargs)


def parse_url(url: str) -> tuple[str, str, dict[str, str]]:
    """``(scheme, target, options)`` of a printer URL, e.g. ``("tcp", "host:9100", {})``."""
    url = url.strip()
    if url in ("none", ""):
        return "none", "", {}
    if "://" not in url:
        raise PrinterError("error", f"printer URL {url!r} must look like tcp://host:9100, usb://VID:PID, "
                                    "serial:///dev/ttyUSB0, file:///dev/usb/lp0, cups://NAME or none")
    parts = urlsplit(url)
    options = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    target = unquote(parts.netloc + parts.path)
    return parts.scheme, target, options


def open_printer(url: str, timeout: float = 8.0, profile: str | None = None, *,
                 status_timeout: float = 1.0) -> "Escpos":
    """An opened python-escpos printer for ``url``; every operation on it ends within ``timeout`` seconds.

    ``profile`` (or ``?profile=`` in the URL) names a python-escpos printer profile.
    Raises :class:`PrinterError` with status ``disabled`` (``none``), ``offline``
    (not found, refused, no answer) or ``error`` (bad URL, missing driver, no permission).
    """
    scheme, target, options = parse_url(url)
    if scheme == "none":
        raise PrinterError("disabled", "no printer configured (kiosk.printer = 'none')")
    profile = options.pop("profile", None) or profile
    kwargs: dict[str, Any] = {"profile": profile} if profile else {}
    printers = _escpos_classes()
    try:
        if scheme == "dummy":
            printer = printers.Dummy(**kwargs)
        elif scheme == "tcp":
            parts = urlsplit(url.strip())
            if not parts.hostname:
                raise PrinterError("error", f"{url}: no host name")
            printer = _network(parts.hostname, parts.port or 9100, timeout, **kwargs)
        elif scheme == "file":
            if not target.startswith("/"):
                raise PrinterError("error", f"{url}: needs an absolute path, e.g. file:///dev/usb/lp0")
            printer = _TimedFile(devfile=target, timeout=timeout, **kwargs)
        elif scheme == "usb":
            if not printers.Usb.is_usable():
                raise PrinterError("error", "usb:// printers need the pyusb package (pip install pyusb)")
            vid, _, pid = target.strip("/").partition(":")
            usb_kwargs = {k: int(v, 0) for k, v in options.items() if k in ("in_ep", "out_ep")}
            printer = printers.Usb(int(vid, 16), int(pid, 16), timeout=max(1, int(timeout * 1000)),
                                   **usb_kwargs, **kwargs)
        elif scheme == "serial":
            if not printers.Serial.is_usable():
                raise PrinterError("error", "serial:// printers need the pyserial package (pip install pyserial)")
            printer = printers.Serial(devfile=target, baudrate=int(options.get("baudrate", 9600)),
                                      timeout=status_timeout, **kwargs)
        elif scheme == "cups":
            if not printers.CupsPrinter.is_usable():
                raise PrinterError("error", "cups:// printers need the pycups package "
                                            "(apt install python3-cups, or pip install pycups)")
            printer = printers.CupsPrinter(printer_name=target.strip("/"), **kwargs)
        else:
            raise PrinterError("error", f"unknown printer URL scheme {scheme!r} in {url!r}")
    except (ValueError, KeyError) as exc:
        raise PrinterError("error", f"{url}: {exc}") from None
    _open(printer, url, timeout)
    return printer


def _open(printer: Any, url: str, timeout: float) -> None:
    from escpos.exceptions import DeviceNotFoundError

    try:
        printer.open()
    except PermissionError as exc:
        raise PrinterError("error", f"{url}: no permission ({exc.strerror}); "
                                    "add the kiosk user to the 'lp' group") from None
    except FileNotFoundError as exc:
        raise PrinterError("offline", f"{url}: {exc.strerror}") from None
    except DeviceNotFoundError as exc:
        raise PrinterError("offline", f"{url}: {' '.join(str(exc).split())}") from None
    except OSError as exc:
        raise PrinterError("offline", f"{url}: {exc}") from None
    serial_dev = getattr(printer, "device", None)
    if serial_dev is not None and hasattr(serial_dev, "write_timeout"):
        serial_dev.write_timeout = timeout


def paper_state(printer: Any, wait: float = 1.0) -> int | None:
    """2 (paper), 1 (near end) or 0 (out), asked with DLE EOT 4; None when the
    transport cannot answer or the printer stays silent for ``wait`` seconds."""
    printers = _escpos_classes()
    if isinstance(printer, printers.Network):
        sock = printer.device
        old = sock.gettimeout()
        sock.settimeout(wait)
        try:
            return printer.paper_status()
        except OSError:
            return None
        finally:
            sock.settimeout(old)
    if type(printer).__name__ in ("Usb", "Serial"):
        try:
            status = printer.query_status(b"\x10\x04\x04")
        except Exception as exc:  # noqa: BLE001 - pyusb/pyserial raise their own errors
            log.debug("no paper status from %r: %s", printer, exc)
            return None
        if not status:
            return None
        return _decode_paper(status[0])
    return None


def _decode_paper(byte: int) -> int:
    from escpos.constants import RT_MASK_LOWPAPER, RT_MASK_NOPAPER

    if byte & RT_MASK_NOPAPER == RT_MASK_NOPAPER:
        return 0
    if byte & RT_MASK_LOWPAPER == RT_MASK_LOWPAPER:
        return 1
    return 2


def _close_quietly(printer: Any) -> None:
    try:
        printer.close()
    except Exception as exc:  # noqa: BLE001
        log.debug("closing printer: %s", exc)


def _status_of(exc: BaseException) -> str:
    if isinstance(exc, PrinterError):
        return exc.status
    if isinstance(exc, PermissionError):
        return "error"
    if isinstance(exc, (TimeoutError, ConnectionError, FileNotFoundError)):
        return "offline"
    if isinstance(exc, OSError):
        return "offline"
    return "error"


# --------------------------------------------------------------------------
# The worker.
# --------------------------------------------------------------------------

@dataclass
class _Job:
    blocks: Sequence[Any] | None   # None: only check the printer
    paper_width: int
    number: str | None
    future: concurrent.futures.Future
    on_done: Callable[[PrintResult], None] | None


_STOP = object()


class TicketPrinter:
    """Prints tickets on its own thread; every job ends within ``timeout`` seconds.

    :param url: printer URL (see the module docstring); ``"none"`` disables printing.
    :param timeout: seconds one job (connect, status, send) may take at most.
    :param paper_width: 80 or 58 (mm).
    :param profile: python-escpos profile name; ``?profile=`` in the URL wins.
    :param status_timeout: seconds to wait for the printer's paper-status answer.
    :param check_on_start: ask the printer for its status as soon as the worker starts.
    """

    def __init__(self, url: str = "none", *, timeout: float = 8.0, paper_width: int = 80,
                 profile: str | None = None, status_timeout: float = 1.0, lang: str = "id",
                 check_on_start: bool = True):
        if timeout <= 0:
            raise ValueError("timeout must be greater than 0 seconds")
        if paper_width not in ticket_mod.PAPER_DOTS:
            raise ValueError("paper_width must be 58 or 80")
        self.url = url
        self.timeout = float(timeout)
        self.status_timeout = min(float(status_timeout), self.timeout / 2)
        self.paper_width = paper_width
        self.lang = lang
        try:
            scheme, _, options = parse_url(url)
        except PrinterError:
            # Not fatal: every job then ends with status "error" and says why.
            scheme, options = "invalid", {}
        self.profile = options.get("profile") or profile
        self.enabled = scheme != "none"
        self._lock = threading.Lock()
        self._status = "ok" if self.enabled else "disabled"
        self._jobs: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._work, name="antre-printer", daemon=True)
        self._thread.start()
        if check_on_start and self.enabled:
            self.check()

    @classmethod
    def from_config(cls, kiosk: "KioskConfig", *, lang: str = "id", **kwargs: Any) -> "TicketPrinter":
        """The printer described by the ``[kiosk]`` section."""
        return cls(kiosk.printer, timeout=kiosk.print_timeout, paper_width=kiosk.paper_width, lang=lang,
                   **kwargs)

    # -- status ------------------------------------------------------------

    @property
    def status(self) -> str:
        """The last known state: one of :data:`STATUSES`."""
        with self._lock:
            return self._status

    @property
    def status_message(self) -> str:
        """The last known state for staff, in Bahasa Indonesia."""
        return MESSAGES["id"][self.status]

    # -- jobs --------------------------------------------------------------

    def submit(self, ticket: "ticket_mod.TicketInfo", office: "OfficeConfig", paper_width: int | None = None,
               on_done: Callable[[PrintResult], None] | None = None, *,
               lang: str | None = None) -> "concurrent.futures.Future[PrintResult]":
        """Queues ``ticket`` for printing and returns at once.

        ``on_done(result)`` is called on the printer's thread when the job ends, at
        most ``timeout`` seconds after it starts; the returned future holds the same
        result.
        """
        width = paper_width or self.paper_width
        try:
            blocks = ticket_mod.layout(ticket, office, paper_width=width, lang=lang or self.lang)
        except Exception as exc:  # noqa: BLE001 - a layout bug must not take the kiosk down
            log.exception("ticket %s could not be laid out", ticket.number)
            return self._finished(PrintResult(False, "error", f"layout failed: {exc}", ticket.number), on_done)
        return self.submit_blocks(blocks, number=ticket.number, paper_width=width, on_done=on_done)

    def submit_blocks(self, blocks: Sequence[ticket_mod.Block], *, number: str | None = None,
                      paper_width: int | None = None,
                      on_done: Callable[[PrintResult], None] | None = None
                      ) -> "concurrent.futures.Future[PrintResult]":
        """Queues any list of blocks (a test page, a staff slip) like :meth:`submit`."""
        if not self.enabled:
            return self._finished(PrintResult(False, "disabled", "kiosk.printer = 'none'", number), on_done)
        return self._queue(_Job(list(blocks), paper_width or self.paper_width, number,
                                concurrent.futures.Future(), on_done))

    def check(self, on_done: Callable[[PrintResult], None] | None = None
              ) -> "concurrent.futures.Future[PrintResult]":
        """Asks the printer for its state without printing; updates :attr:`status`."""
        if not self.enabled:
            return self._finished(PrintResult(False, "disabled", "kiosk.printer = 'none'"), on_done)
        return self._queue(_Job(None, self.paper_width, None, concurrent.futures.Future(), on_done))

    def close(self, timeout: float | None = None) -> None:
        """Stops the worker after the jobs already queued."""
        self._jobs.put(_STOP)
        self._thread.join(timeout if timeout is not None else self.timeout * (self._jobs.qsize() + 2))

    def __enter__(self) -> "TicketPrinter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # -- inside --------------------------------------------------------------

    def _queue(self, job: _Job) -> "concurrent.futures.Future[PrintResult]":
        if not self._thread.is_alive():
            return self._finished(PrintResult(False, "error", "printer worker stopped", job.number), job.on_done)
        self._jobs.put(job)
        return job.future

    def _finished(self, result: PrintResult, on_done: Callable[[PrintResult], None] | None,
                  future: concurrent.futures.Future | None = None) -> concurrent.futures.Future:
        future = future or concurrent.futures.Future()
        future.set_result(result)
        if on_done is not None:
            try:
                on_done(result)
            except Exception:  # noqa: BLE001 - the app's callback must not kill the worker
                log.exception("print on_done callback failed")
        return future

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is _STOP:
                return
            result = self._run(job)
            with self._lock:
                self._status = result.status
            if not result.ok:
                log.warning("ticket %s not printed: %s (%s)", job.number or "-", result.status, result.detail)
            self._finished(result, job.on_done, job.future)

    def _run(self, job: _Job) -> PrintResult:
        data = None
        if job.blocks is not None:
            try:
                # Rendered here, off the caller's thread (a logo takes a moment to dither).
                data = ticket_mod.ticket_bytes(job.blocks, paper_width=job.paper_width, profile=self.profile)
            except Exception as exc:  # noqa: BLE001 - a rendering bug must not take the kiosk down
                log.exception("ticket %s could not be rendered", job.number)
                return PrintResult(False, "error", f"rendering failed: {type(exc).__name__}: {exc}", job.number)
        box: dict[str, Any] = {}
        io = threading.Thread(target=self._io, args=(job, data, box), name="antre-printer-io", daemon=True)
        io.start()
        io.join(self.timeout)
        if io.is_alive():
            printer = box.get("printer")
            if printer is not None:
                # Unblocks a send stuck on a socket; the I/O thread then ends by itself.
                sock = getattr(printer, "_device", None)
                if isinstance(sock, socket.socket):
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
            return PrintResult(False, "offline", f"{self.url}: no answer within {self.timeout:g} s", job.number)
        return box["result"]

    def _io(self, job: _Job, data: bytes | None, box: dict[str, Any]) -> None:
        deadline = time.monotonic() + self.timeout
        printer = None
        try:
            printer = open_printer(self.url, self.timeout, self.profile, status_timeout=self.status_timeout)
            box["printer"] = printer
            paper = paper_state(printer, self.status_timeout)
            if paper == 0:
                result = PrintResult(False, "paper_out", f"{self.url}: paper end sensor", job.number)
            else:
                if data is not None:
                    printer._raw(data)
                    if paper is not None:
                        # A printer that answers status answers again once it has taken
                        # the whole ticket: that is our receipt (real-time commands are
                        # handled as they arrive, in order, behind the ticket's bytes).
                        paper = paper_state(printer, max(0.05, deadline - time.monotonic()))
                        if paper is None:
                            raise TimeoutError("the printer took the ticket's start but did not confirm the rest")
                        if paper == 0:
                            raise PrinterError("paper_out", f"{self.url}: paper ran out while printing")
                printer.close()  # CUPS sends the job on close
                near_end = paper == 1
                result = PrintResult(True, "paper_near_end" if near_end else "ok",
                                     f"{self.url}: paper near-end sensor" if near_end else "", job.number)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a result
            detail = exc.detail if isinstance(exc, PrinterError) else f"{self.url}: {type(exc).__name__}: {exc}"
            result = PrintResult(False, _status_of(exc), detail, job.number)
        finally:
            if printer is not None:
                _close_quietly(printer)
        box["result"] = result


__all__ = ["TicketPrinter", "PrintResult", "PrinterError", "open_printer", "paper_state", "parse_url",
           "STATUSES", "MESSAGES"]
