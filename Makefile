# Shortcuts for the scripts (which need nothing but bash).
.PHONY: demo test bench
demo:
	scripts/demo
test:
	scripts/test
bench:
	scripts/bootstrap test && .venv/bin/python bench/run.py
