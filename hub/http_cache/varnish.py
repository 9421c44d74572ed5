"""Start Varnish (Debian's ``varnishd``) in front of the hub with deploy/varnish/hub.vcl.

Used by ``hub serve-cached`` (``make serve-cached``), the Varnish tests and bench/scale.py, so
all three run the same configuration the same way: ``varnishd -F`` (foreground, no systemd)
with its working files under ``workdir``, listening on ``listen_port`` and fetching from the
hub's workers on ``backend_port``. Run as root, varnishd drops its privileges to Debian's
``varnish``/``vcache`` users by itself; ``workdir`` is made readable to them.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
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


def start_varnish(vcl: Path, listen_port: int, backend_port: int, workdir: Path, *,
                  storage: str = "malloc,256m", timeout_s: float = 30) -> subprocess.Popen:
    """varnishd in the foreground, ready to answer on ``listen_port`` when this returns."""
    binary = varnishd()
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o755)
    (workdir / "hub-backend.vcl").write_text(BACKEND_VCL.format(port=backend_port))
    (workdir / "hub-backend.vcl").chmod(0o644)
    log = workdir / "varnishd.log"
    command = [binary, "-F", "-n", str(workdir / "instance"),
               "-a", f"127.0.0.1:{listen_port}", "-f", str(vcl.resolve()),
               "-p", f"vcl_path={workdir}:{vcl.resolve().parent}",
               "-s", storage]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise VarnishError(f"varnishd exited: {log.read_text(errors='replace')[-3000:]}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", listen_port)) == 0:
                return process
        time.sleep(0.1)
    process.terminate()
    raise VarnishError(f"varnishd did not listen on {listen_port}: "
                       f"{log.read_text(errors='replace')[-3000:]}")


def stop(process: subprocess.Popen, timeout_s: float = 20) -> None:
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
