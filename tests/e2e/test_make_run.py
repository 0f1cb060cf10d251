"""`make run` as the README says: it sets up, loads the demo and serves."""

import os
import signal
import subprocess

import pytest
import requests

from tests.server import ROOT, free_port, wait_until_up


def test_make_run_serves_the_demo_site(tmp_path):
    port = free_port()
    env = {
        **os.environ,
        "PORT": str(port),
        "WORKERS": "2",
        "DATABASE_URL": f"sqlite:///{tmp_path}/run.db",
        "WH_INSTANCE_PATH": str(tmp_path / "instance"),
    }
    proc = subprocess.Popen(["make", "run"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/login", proc, timeout=300)
        session = requests.Session()
        page = session.get(f"http://127.0.0.1:{port}/login", timeout=10)
        assert page.status_code == 200 and "Sign in" in page.text
        # The demo sign-in printed by make run works, and the demo stock is there.
        import re

        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text).group(1)
        # The demo accounts have passwords made for this site, kept for its owner only.
        kept = tmp_path / "instance" / "demo-accounts.txt"
        assert oct(kept.stat().st_mode & 0o777) == "0o600"
        accounts = dict(line.split()[:2] for line in kept.read_text().splitlines() if not line.startswith("#"))
        assert accounts["picker"] != "picker"
        guessed = session.post(f"http://127.0.0.1:{port}/login", timeout=10,
                               data={"csrf_token": token, "username": "admin", "password": "admin"})
        assert guessed.status_code == 401
        home = session.post(f"http://127.0.0.1:{port}/login", timeout=10,
                            data={"csrf_token": token, "username": "picker", "password": accounts["picker"]})
        assert home.status_code == 200 and "Stock lookup" in home.text and "MAIN" in home.text
        bin_page = session.get(f"http://127.0.0.1:{port}/lookup?code=A-01-1", timeout=10)
        assert "Bin A-01-1" in bin_page.text
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert "Demo sign-in" in out and accounts["picker"] in out  # printed once, by make run


# The first probe, before the certificate is known, does not verify it.
@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_make_run_with_https_serves_tls_with_a_certificate_for_this_machine(tmp_path):
    port = free_port()
    instance = tmp_path / "instance"
    # The quicker demo (no half year of trade): this test is about TLS; the one above loads it all.
    env = {**os.environ, "PORT": str(port), "WORKERS": "1", "HTTPS": "1", "WH_DEMO_DAYS": "0",
           "DATABASE_URL": f"sqlite:///{tmp_path}/run.db", "WH_INSTANCE_PATH": str(instance)}
    proc = subprocess.Popen(["make", "run", "HTTPS=1"], cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_up(f"https://127.0.0.1:{port}/login", proc, timeout=300, verify=False)
        # The generated certificate names this address, so a browser that trusts it once trusts the page.
        page = requests.get(f"https://127.0.0.1:{port}/login", timeout=10, verify=str(instance / "tls" / "cert.pem"))
        assert page.status_code == 200 and "Sign in" in page.text
        assert "Secure" in page.headers.get("Set-Cookie", "Secure")
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        out, _ = proc.communicate(timeout=30)
    assert "https://localhost" in out
