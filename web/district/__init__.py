"""The district dashboard (``antre district-web``): every office's queue, waiting times, IKM, letters and
complaints from the hub's PostgreSQL (docs/district.md). Read-only; district staff accounts."""
