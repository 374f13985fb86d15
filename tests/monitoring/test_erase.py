"""GDPR erasure: one client's rows are found by their keyed hash and removed, the others kept."""

from __future__ import annotations

from monitoring.erase import erase, find_client_rows, main
from monitoring.log.reader import read_log
from monitoring.log.writer import PredictionLog
from tests.factories import SALT, prediction_row_factory


def _write(tmp_path, clients):
    log = PredictionLog(tmp_path, replica_id="t")
    build = prediction_row_factory()
    for i, client in enumerate(clients):
        log.append(build(i, client_id=client))
    log.close()


def test_find_and_erase_one_client(tmp_path):
    _write(tmp_path, [111, 222, 111, None, 333])
    matches = find_client_rows([tmp_path], "111", salt=SALT)
    assert [m.request_id for m in matches] == ["req-0", "req-2"]
    assert erase(matches) == 2
    left = read_log([tmp_path]).predictions
    assert sorted(left["request_id"]) == ["req-1", "req-3", "req-4"]
    assert find_client_rows([tmp_path], "111", salt=SALT) == []
    assert find_client_rows([tmp_path], "111", salt="another-salt") == []


def test_cli_needs_the_salt(tmp_path, monkeypatch, capsys):
    _write(tmp_path, [5])
    monkeypatch.delenv("LOG_ID_SALT", raising=False)
    assert main(["--client-id", "5", "--log-dir", str(tmp_path)]) == 2
    assert main(["--client-id", "5", "--log-dir", str(tmp_path), "--salt", SALT, "--delete"]) == 0
    assert "erased 1 row" in capsys.readouterr().out
    assert read_log([tmp_path]).predictions.empty


def test_cli_reads_the_salt_through_the_settings(tmp_path, monkeypatch, capsys):
    _write(tmp_path, [5, 6])
    monkeypatch.setenv("LOG_ID_SALT", SALT)  # what the service hashed with, read the same way
    assert main(["--client-id", "5", "--log-dir", str(tmp_path)]) == 0
    assert "1 row(s) for this client" in capsys.readouterr().out
