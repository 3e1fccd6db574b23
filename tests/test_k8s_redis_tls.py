"""The Redis the kubernetes target declares, run on this machine: the recorded server command and
probes with a local redis-server, certificates made like the internal CA's (a CA, and a server
certificate for the names the recorded Certificate lists), and the recorded REDIS_URL through
redis-py's `from_url`, as the app opens it (app/store.py; the asyncio and the sync client parse the
URL alike). Only the paths and the port are mapped to local ones.

Without redis-server the tests skip saying so; under CI=true (which installs it) they fail.
"""

from __future__ import annotations

import asyncio
import datetime
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis as redis_py
import redis.asyncio as redis_asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from components.kubernetes import cache
from infra.mocks import run_stack, unwrap
from tests.k8s import CERTIFICATE, SECRET, STATEFULSET, skip_or_fail


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def certificate(subject: str, key, issuer_name: str, issuer_key, ca: bool, dns_names=()) -> bytes:
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer_name))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if dns_names:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in dns_names]),
                                        critical=False)
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM)


def pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


class LocalRedis:
    """The recorded StatefulSet's Redis, with its paths and port mapped to this machine's."""

    def __init__(self, root: Path, container: dict, dns_names: list[str], password: str):
        self.root, self.container, self.dns_names = root, container, dns_names
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.ca_key = ec.generate_private_key(ec.SECP256R1())
        self.key = ec.generate_private_key(ec.SECP256R1())
        for d in ("tls", "auth", "data", "tmp", "app-ca"):
            (root / d).mkdir()
        (root / "auth" / cache.PASSWORD_KEY).write_text(password)
        ca = certificate("berth-test internal CA", self.ca_key, "berth-test internal CA", self.ca_key, ca=True)
        for where in (root / "tls" / "ca.crt", root / "app-ca" / "ca.crt"):
            where.write_bytes(ca)
        (root / "tls" / "tls.key").write_bytes(pem_key(self.key))
        self.issue()
        self.log = open(root / "redis.log", "wb")
        self.process = subprocess.Popen(["sh", "-c", self.local(container["command"][-1])],
                                        stdout=self.log, stderr=subprocess.STDOUT)

    def issue(self) -> None:
        """A server certificate from the CA, as cert-manager issues (and renews) it."""
        cert = certificate("redis", self.key, "berth-test internal CA", self.ca_key, ca=False, dns_names=self.dns_names)
        (self.root / "tls" / "tls.crt").write_bytes(cert)

    def local(self, command: str) -> str:
        for pod_path, here in ((cache.TLS_DIR, "tls"), (cache.AUTH_DIR, "auth"), (cache.LOADED, "tmp/loaded"),
                               ("--dir /data", None)):
            command = command.replace(pod_path, f"--dir {self.root / 'data'}" if here is None else str(self.root / here))
        return (command.replace(f"--tls-port {cache.PORT}", f"--tls-port {self.port}")
                .replace("redis-cli ", f"redis-cli -p {self.port} "))

    def probe(self, which: str) -> int:
        command = self.container[which]["exec"]["command"]
        assert command[:2] == ["sh", "-c"]
        return subprocess.run(["sh", "-c", self.local(command[-1])], capture_output=True, timeout=10).returncode

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        self.log.close()


@pytest.fixture(scope="module")
def recorded():
    run = run_stack("k8s-dev")
    return {
        "container": run.one(STATEFULSET).inputs["spec"]["template"]["spec"]["containers"][0],
        "dns_names": run.one(CERTIFICATE, "redis").inputs["spec"]["dnsNames"],
        "password": unwrap(run.one(SECRET, "redis").inputs["stringData"])[cache.PASSWORD_KEY],
        "url": unwrap(run.one(SECRET, "app-env").inputs["stringData"])["REDIS_URL"],
    }


@pytest.fixture(scope="module")
def redis(recorded, tmp_path_factory):
    if not (shutil.which("redis-server") and shutil.which("redis-cli")):
        skip_or_fail("redis-server and redis-cli are not installed (apt-get install -y redis-server)")
    server = LocalRedis(tmp_path_factory.mktemp("redis"), recorded["container"], recorded["dns_names"],
                        recorded["password"])
    deadline = time.monotonic() + 15
    while server.probe("startupProbe") != 0:
        if server.process.poll() is not None or time.monotonic() > deadline:
            server.stop()
            pytest.fail(f"the recorded redis-server did not start: {(server.root / 'redis.log').read_text()[-2000:]}")
        time.sleep(0.2)
    yield server
    server.stop()


@pytest.fixture
def service_name_resolves_here(recorded, monkeypatch):
    """The Service's name, as the pods resolve it, leads to the local server (the certificate's name
    is still checked against it, as redis-py does in the cluster)."""
    host = recorded["url"].split("@", 1)[1].split(":", 1)[0]
    real = socket.getaddrinfo

    def getaddrinfo(name, *args, **kwargs):
        return real("127.0.0.1" if name == host else name, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return host


def app_url(recorded, redis, scheme: str = "rediss") -> str:
    url = recorded["url"].replace(f":{cache.PORT}/", f":{redis.port}/").replace(cache.CA_DIR, str(redis.root / "app-ca"))
    if scheme == "redis":  # plain: what a client without TLS would send (no TLS options either)
        return url.replace("rediss://", "redis://", 1).split("?", 1)[0]
    return url


def roundtrip(url: str) -> list[str]:
    """Set and get a key with both of redis-py's clients, each opened from the URL alone."""
    sync = redis_py.Redis.from_url(url, socket_connect_timeout=3, decode_responses=True)
    sync.set("berth-tls", "sync", ex=60)
    got = [sync.get("berth-tls")]
    sync.close()

    async def with_asyncio() -> str:
        client = redis_asyncio.Redis.from_url(url, socket_connect_timeout=3, decode_responses=True)
        await client.set("berth-tls", "asyncio", ex=60)
        value = await client.get("berth-tls")
        await client.aclose()
        return value

    # A loop of its own: asyncio.run would leave the thread without one, which the Pulumi runtime
    # of later tests needs.
    loop = asyncio.new_event_loop()
    try:
        return got + [loop.run_until_complete(with_asyncio())]
    finally:
        loop.close()


def test_the_probes_pass_over_tls(redis):
    assert redis.probe("readinessProbe") == 0 and redis.probe("livenessProbe") == 0


def test_the_app_connects_with_the_recorded_url_and_verifies_the_server(recorded, redis, service_name_resolves_here):
    assert roundtrip(app_url(recorded, redis)) == ["sync", "asyncio"]


def test_no_plain_connection_and_no_other_ca(recorded, redis, service_name_resolves_here, tmp_path):
    with pytest.raises(redis_py.ConnectionError):
        roundtrip(app_url(recorded, redis, scheme="redis"))
    other = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "ca.crt").write_bytes(certificate("other CA", other, "other CA", other, ca=True))
    url = app_url(recorded, redis).replace(str(redis.root / "app-ca"), str(tmp_path))
    with pytest.raises(redis_py.ConnectionError, match="certificate verify failed"):
        roundtrip(url)


def test_a_renewed_certificate_fails_liveness_so_the_restart_loads_it(redis):
    redis.issue()  # cert-manager renewed the Secret; Redis still serves the one it started with
    assert redis.probe("readinessProbe") == 0
    assert redis.probe("livenessProbe") != 0
