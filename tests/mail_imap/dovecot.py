"""A real IMAP server for the tests: Debian's Dovecot, unprivileged-style, on free loopback ports, with a
generated config, a passwd-file of users and maildirs in a temp folder. `imapd` (conftest) starts one per
test session; each test gets a user of its own (`new_user`), so tests never see each other's mail.

Plain IMAP on one port (loopback: the desk allows it there), IMAPS on another with a self-signed
certificate (for the TLS tests: refused without the certificate, accepted with MAIL_IMAP_CA_FILE).
"""
from __future__ import annotations

import contextlib
import datetime
import grp
import ipaddress
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

DOVECOT = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)


USERS, PASSWORD = 500, "secret-pw"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _self_signed(folder: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


@dataclass
class Dovecot:
    folder: Path
    port: int
    ssl_port: int
    cert: Path
    process: subprocess.Popen
    users: list

    host = "127.0.0.1"

    def new_user(self) -> str:
        """A user of its own for a test. All are written before Dovecot starts: it notices a changed
        passwd-file by its mtime, which two tests within one second wouldn't change."""
        return self.users.pop()

    def client(self, user: str, password: str = PASSWORD):
        from imapclient import IMAPClient
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        try:
            client.login(user, password)
        except Exception:
            client.shutdown()
            raise
        return client

    def append(self, user: str, raw: bytes, folder: str = "INBOX") -> None:
        client = self.client(user)
        try:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, raw)
        finally:
            client.logout()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def start(folder: Path) -> Dovecot:
    assert DOVECOT, "dovecot is not installed"
    folder.mkdir(parents=True, exist_ok=True)
    for sub in ("run", "mail", "home"):
        (folder / sub).mkdir(exist_ok=True)
    users = [f"u{uuid.uuid4().hex[:10]}" for _ in range(USERS)]
    (folder / "passwd").write_text("".join(f"{u}:{{PLAIN}}{PASSWORD}\n" for u in users))
    cert, key = _self_signed(folder)
    me = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    # Dovecot refuses to run its login processes as root: as root (CI), they run as Debian's
    # dovenull and the internal ones as dovecot (both made by the package); otherwise as the user.
    login_user, internal_user, internal_group = (("dovenull", "dovecot", "dovecot") if os.getuid() == 0
                                                 else (me, me, group))
    os.chmod(folder, 0o755)  # the login processes (dovenull) reach their sockets in run/
    # Mail is never accessed as root (Dovecot refuses uid 0): as root, the users' mail belongs to dovecot.
    mail_uid, mail_gid = ((pwd.getpwnam("dovecot").pw_uid, grp.getgrnam("dovecot").gr_gid) if os.getuid() == 0
                          else (os.getuid(), os.getgid()))
    for sub in ("mail", "home"):
        os.chown(folder / sub, mail_uid, mail_gid)
    port, ssl_port = free_port(), free_port()
    # As root, Dovecot would chroot its login processes and switch to dovenull; the tests want
    # everything as the current user, in this folder, so chroots are off and every user is "me".
    config = f"""
base_dir = {folder}/run
state_dir = {folder}/run
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
default_internal_user = {internal_user}
default_internal_group = {internal_group}
default_login_user = {login_user}
first_valid_uid = {mail_uid}
first_valid_gid = {mail_gid}
mail_location = maildir:{folder}/mail/%u
mail_privileged_group =
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={folder}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {ssl_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
service stats {{
  chroot =
}}
"""
    conf = folder / "dovecot.conf"
    conf.write_text(config)
    output = open(folder / "stdout.log", "wb")
    process = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=output, stderr=subprocess.STDOUT)
    output.close()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            out = (folder / "stdout.log").read_text(errors="replace")
            log = (folder / "dovecot.log").read_text() if (folder / "dovecot.log").exists() else ""
            raise RuntimeError(f"dovecot exited ({process.returncode}): {out}\n{log}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                if s.recv(100).startswith(b"* OK"):
                    return Dovecot(folder, port, ssl_port, cert, process, users)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("dovecot did not answer within 15 s: " + (folder / "dovecot.log").read_text())


@contextlib.contextmanager
def running_or_skip():
    """A Dovecot for a test session in a temp folder of its own, stopped and removed after. Without
    the binary: skipped locally, a failure in CI (CI=true), where .ci/run must have installed it."""
    import pytest

    if not DOVECOT:
        message = "Dovecot is not installed (apt-get install dovecot-imapd): no IMAP server to poll"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " - CI must install it (.ci/run)")
        pytest.skip(message)
    # Not pytest's tmp folder: that is private to the user, and Dovecot's helpers run as other users.
    root = tempfile.mkdtemp(prefix="dw-dovecot-")
    os.chmod(root, 0o755)
    server = start(Path(root) / "dovecot")
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
