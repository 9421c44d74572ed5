"""Start Varnish (Debian's ``varnishd``) in front of the hub with deploy/varnish/hub.vcl.

Used by ``hub serve-cached`` (``make serve-cached``), the Varnish tests and bench/scale.py, so
all three run the same configuration the same way: ``varnishd -F`` (foreground, no systemd)
with its working files in a temporary folder, listening on ``listen_port`` and fetching from the
hub's workers on ``backend_port``. Run as root, varnishd drops its privileges to Debian's
``varnish``/``vcache`` users by itself.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

BACKEND_VCL = """vcl 4.1;
# Written by hub.http_cache.varnish: the hub's workers.
backend hub {{
    .host = "127.0.0.1";
    .port = "{port}";
    .connect_timeout = 2s;
    .first_byte_timeout = 60s;
    .between_bytes_timeout = 60s;
}}
"""


class VarnishError(RuntimeError):
    """varnishd is missing, refused the configuration or did not start listening."""


def varnishd() -> str:
    """The ``varnishd`` binary (Debian installs it in /usr/sbin, often not on PATH)."""
    found = shutil.which("varnishd") or shutil.which("varnishd", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise VarnishError("varnishd is not installed (apt-get install varnish, or make deps)")
    return found


@dataclass
class Varnish:
    """A running varnishd and its working files (removed by :meth:`stop`)."""

    process: subprocess.Popen
    workdir: Path

    def log(self) -> str:
        return (self.workdir / "varnishd.log").read_text(errors="replace")

    def stop(self, timeout_s: float = 20) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.workdir, ignore_errors=True)


def start_varnish(vcl: Path, listen_port: int, backend_port: int, *,
                  storage: str = "malloc,256m", timeout_s: float = 30) -> Varnish:
    """varnishd in the foreground, ready to answer on ``listen_port`` when this returns. Its
    working files go to a fresh folder under the system's temporary directory, which the
    unprivileged users varnishd switches to (its VCL compiler included) can read."""
    binary = varnishd()
    workdir = Path(tempfile.mkdtemp(prefix="hub-varnish-"))
    workdir.chmod(0o755)
    (workdir / "hub-backend.vcl").write_text(BACKEND_VCL.format(port=backend_port))
    (workdir / "hub-backend.vcl").chmod(0o644)
    command = [binary, "-F", "-n", str(workdir / "instance"),
               "-a", f"127.0.0.1:{listen_port}", "-f", str(vcl.resolve()),
               "-p", f"vcl_path={workdir}:{vcl.resolve().parent}",
               "-s", storage]
    with (workdir / "varnishd.log").open("wb") as out:
        varnish = Varnish(subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT),
                          workdir)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if varnish.process.poll() is not None:
            log = varnish.log()
            shutil.rmtree(workdir, ignore_errors=True)
            raise VarnishError(f"varnishd exited: {log[-3000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", listen_port)) == 0:
                return varnish
        time.sleep(0.1)
    log = varnish.log()
    varnish.stop()
    raise VarnishError(f"varnishd did not listen on {listen_port}: {log[-3000:]}")
