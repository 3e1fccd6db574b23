"""gunicorn settings for the image: uvicorn workers, $PORT, everything writable under /tmp.

The server's own settings come from app.core.config like the app's, so a bad value (say
FORWARDED_ALLOW_IPS=* in production) stops the master at start with one line naming it.
"""

from __future__ import annotations

import os
import shutil

from app.core.config import load_settings

settings = load_settings()

bind = f"0.0.0.0:{settings.port}"
workers = settings.web_concurrency
worker_class = "uvicorn_worker.UvicornWorker"
# The root filesystem is read-only in production; heartbeat files go to /tmp.
worker_tmp_dir = os.environ.get("GUNICORN_WORKER_TMP_DIR", "/tmp")
# SIGTERM: stop accepting, let in-flight requests finish for up to this long.
graceful_timeout = settings.graceful_timeout
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
# Idle keep-alive longer than the load balancer's, so it never reuses a connection we closed.
keepalive = settings.keepalive_seconds
# X-Forwarded-For is believed only from these proxies; the client is the right-most address
# in it that is not one of them (uvicorn's ProxyHeadersMiddleware).
forwarded_allow_ips = ",".join(settings.forwarded_allow_ips)
# gunicorn >= 24 opens a control socket under $HOME by default; the image's root fs is read-only.
control_socket_disable = True
accesslog = None  # the app's middleware writes one JSON line per request
logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": "app.core.logging.JsonFormatter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "root": {"handlers": ["console"], "level": settings.log_level},
    "loggers": {"gunicorn.error": {"handlers": ["console"], "propagate": False},
                "gunicorn.access": {"handlers": [], "propagate": False}},
}


def on_starting(server) -> None:  # noqa: ANN001
    # Metrics files from a previous run would be summed into this one's.
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)


def child_exit(server, worker) -> None:  # noqa: ANN001
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
