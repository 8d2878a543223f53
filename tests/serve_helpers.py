"""Starting `dynlp serve` in a test and talking to it over HTTP (stdlib only)."""
import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest


def need_serve_extra():
    """Skip when dynlp[serve] is missing, except in CI (where it must be installed)."""
    try:
        import starlette  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            raise
        pytest.skip("dynlp[serve] not installed", allow_module_level=True)


class Server:
    """A `dynlp serve` process on a free port; its log in a file (a pipe could fill up)."""

    def __init__(self, model_dirs, tmp_path, *flags):
        self.log_path = tmp_path / f"serve-{time.monotonic_ns()}.log"
        command = [sys.executable, "-m", "dynlp.cli", "serve", "--port", "0", *flags]
        for model_dir in model_dirs:
            command += ["-m", str(model_dir)]
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=log)
        self.url = self._wait_for_address()

    def _wait_for_address(self, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = re.search(r"dynlp serve: (http://\S+/)", self.log())
            if found:
                return found.group(1).rstrip("/")
            if self.process.poll() is not None:
                raise AssertionError(f"dynlp serve exited {self.process.returncode}: {self.log()}")
            time.sleep(0.1)
        self.stop()
        raise AssertionError(f"dynlp serve did not start: {self.log()}")

    def log(self):
        return self.log_path.read_text()

    def get(self, path):
        return _call(urllib.request.Request(self.url + path))

    def post(self, path, body, timeout=60):
        """POST `body` (an object, sent as JSON, or bytes as they are): (status, JSON reply)."""
        data = body if isinstance(body, bytes) else json.dumps(body).encode("utf-8")
        request = urllib.request.Request(self.url + path, data=data, method="POST",
                                         headers={"Content-Type": "application/json"})
        return _call(request, timeout)

    def wait_until_up(self, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            status, health = self.get("/health")
            if status == 200:
                return health
            time.sleep(0.1)
        raise AssertionError(f"workers not up after {timeout} s: {health}")

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _call(request, timeout=60):
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
