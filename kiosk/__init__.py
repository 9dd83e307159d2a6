"""The touchscreen kiosk: issues tickets, prints them, and takes ratings."""
