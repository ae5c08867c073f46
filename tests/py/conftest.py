"""Shared fixtures: a real `sightline` process on free loopback ports."""
import os
import socket
import subprocess
import tempfile
import time

import pytest
import requests

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BINARY = os.environ.get("SIGHTLINE_BIN", os.path.join(ROOT, "target", "debug", "sightline"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Sightline:
    def __init__(self, tmp):
        self.port, self.grpc_port, self.http_port = free_port(), free_port(), free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cfg = os.path.join(tmp, "sightline.yml")
        with open(cfg, "w") as f:
            f.write(
                "server:\n"
                f"  listen_address: 127.0.0.1:{self.port}\n"
                f"  otlp_grpc_listen_address: 127.0.0.1:{self.grpc_port}\n"
                f"  otlp_http_listen_address: 127.0.0.1:{self.http_port}\n"
                "self_monitoring: {enabled: false, host_collector: false}\n"
            )
        self.log = open(os.path.join(tmp, "sightline.log"), "w+")
        self.proc = subprocess.Popen(
            [BINARY, "serve", "--config", cfg, "--data-dir", os.path.join(tmp, "data")],
            stdout=self.log, stderr=subprocess.STDOUT,
        )
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if requests.get(self.base + "/-/ready", timeout=1).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        raise RuntimeError("sightline did not become ready:\n" + self.log_text())

    def log_text(self):
        self.log.flush()
        self.log.seek(0)
        return self.log.read()

    def export(self, selector):
        r = requests.get(self.base + "/api/v1/export", params={"match[]": selector}, timeout=10)
        r.raise_for_status()
        import json
        return [json.loads(line) for line in r.text.splitlines() if line]

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=30)


@pytest.fixture
def sightline():
    if not os.path.exists(BINARY):
        pytest.skip(f"{BINARY} not built: run cargo build -p sightline first")
    with tempfile.TemporaryDirectory() as tmp:
        s = Sightline(tmp)
        yield s
        s.stop()
