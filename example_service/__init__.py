"""A small service built on service-pkg; also the template for new services.

Run it with ``make run`` (or ``python -m example_service``); stop it with Ctrl-C or SIGTERM.
"""
