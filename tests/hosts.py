"""App hosts of their own on one machine, behind nginx: the two-host test's and bench/scans.py --hosts' harness.

Each host is a network namespace (`ip netns`: nothing in it but its own loopback) with its own instance
folder, running the app under gunicorn as `make run` does. Its one door out is the unix socket gunicorn
listens on, which nginx (Debian's package) balances across; PostgreSQL is reached by its socket. So no
request, cookie, photo or lock passes from one host to another except through the database, and the
network never leaves 127.0.0.1.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]


def why_not() -> str | None:
    """Why hosts cannot be made here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if not shutil.which("ip"):
        return "no `ip` command (iproute2)"
    if not shutil.which("nginx"):
        return "no nginx (make test installs Debian's nginx package)"
    probe = f"whprobe{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if made.returncode:
        return f"network namespaces are not allowed here: {made.stderr.strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return None


def socket_url(pg, database: str) -> str:
    """The database by PostgreSQL's unix socket: the way in from a host's namespace."""
    return f"postgresql+psycopg://postgres@/{database}?host={pg.dir}&port={pg.port}"


class Host:
    """One app host: a network namespace, an instance folder, gunicorn on a unix socket."""

    def __init__(self, name: str, db_url: str, secret: str, tmp: Path, workers: int = 2, env: dict | None = None):
        self.name = name
        self.ns = f"wh{os.getpid()}{name}"
        subprocess.run(["ip", "netns", "add", self.ns], check=True)
        subprocess.run(["ip", "netns", "exec", self.ns, "ip", "link", "set", "lo", "up"], check=True)
        self.instance = tmp / f"host-{name}"
        self.instance.mkdir()
        self.sock = tmp / f"{name}.sock"
        self.log = tmp / f"{name}.log"
        env = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": secret, "WH_INSTANCE_PATH": str(self.instance),
               **(env or {})}
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                ["ip", "netns", "exec", self.ns, str(Path(sys.executable).parent / "gunicorn"), "--workers",
                 str(workers), "--bind", f"unix:{self.sock}", "--log-level", "warning", "app:create_app()"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait(self, timeout: float = 60) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"host {self.name} exited: {self.log.read_text()[-2000:]}")
            try:
                with socket.socket(socket.AF_UNIX) as s:
                    s.connect(str(self.sock))
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"host {self.name} did not come up")

    def kill(self) -> None:
        """SIGKILL to the host's gunicorn and its workers at once."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)


NGINX_CONF = """
daemon off;
user root;
worker_processes 2;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
  access_log off;
  client_max_body_size 20m;
  client_body_temp_path {tmp}/nginx-body;
  proxy_temp_path {tmp}/nginx-proxy;
  fastcgi_temp_path {tmp}/nginx-fastcgi;
  uwsgi_temp_path {tmp}/nginx-uwsgi;
  scgi_temp_path {tmp}/nginx-scgi;
  upstream app {{
{servers}
    keepalive 32;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_next_upstream error timeout;
      proxy_read_timeout 60s;
      add_header X-Served-By $upstream_addr always;
    }}
  }}
}}
"""


class Nginx:
    """nginx on 127.0.0.1 balancing round-robin across the hosts' sockets; X-Served-By names the host."""

    def __init__(self, hosts: list[Host], tmp: Path):
        self.port = _free_port()
        self.tmp = tmp
        conf = tmp / "nginx.conf"
        conf.write_text(NGINX_CONF.format(tmp=tmp, port=self.port, servers="\n".join(
            f"    server unix:{h.sock} max_fails=1 fail_timeout=10s;" for h in hosts)))
        self.proc = subprocess.Popen(["nginx", "-p", str(tmp), "-c", str(conf)], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.url = f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait(self, path: str = "/login") -> None:
        deadline = time.time() + 30
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited: {(self.tmp / 'nginx-error.log').read_text()[-2000:]}")
            try:
                requests.get(self.url + path, timeout=2)
                return
            except requests.RequestException:
                time.sleep(0.1)
        raise RuntimeError("nginx did not answer")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
