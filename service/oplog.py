"""Operational logs: one JSON object per line on stdout, secrets masked, no line forged by a print()."""

from __future__ import annotations

import io
import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime", "taskName"}


class JsonFormatter(logging.Formatter):
    def __init__(self, secrets: list[str] | None = None) -> None:
        super().__init__()
        self.secrets = [s for s in secrets or [] if s]

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        text = json.dumps(entry, default=str, ensure_ascii=False)
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


class OneLinePerWrite(io.TextIOBase):
    """stdout that cannot be forged: CR and LF inside a write are escaped, only a final newline is kept.

    Libraries `print()` caller-controlled text (Gradio's custom_component route prints its path
    parameters); a raw CR or LF there would start a line that a log collector reads as our own JSON.
    """

    def __init__(self, stream: TextIO) -> None:
        super().__init__()
        self.stream = stream

    def write(self, text: str) -> int:
        body, end = (text[:-1], "\n") if text.endswith("\n") else (text, "")
        self.stream.write(body.replace("\r", "\\r").replace("\n", "\\n") + end)
        return len(text)

    def flush(self) -> None:
        self.stream.flush()

    def fileno(self) -> int:
        return self.stream.fileno()

    def isatty(self) -> bool:
        return self.stream.isatty()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return self.stream.encoding

    @property
    def errors(self) -> str | None:  # type: ignore[override]
        return self.stream.errors

    def __getattr__(self, name: str) -> Any:  # encoding, errors, buffer...: those of the real stream
        return getattr(self.stream, name)


def configure_logging(level: str = "INFO", *, secrets: list[str] | None = None) -> None:
    if not isinstance(sys.stdout, OneLinePerWrite):
        sys.stdout = OneLinePerWrite(sys.stdout)
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's own loggers carry their handlers; route them through ours instead.
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    for noisy in ("httpx", "httpcore", "urllib3", "matplotlib", "mlflow", "huggingface_hub"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
