"""One single-node KRaft broker (broker + controller) in a data dir: format, start, stop, status.

The data dir holds everything of one broker: ``server.properties``, ``log4j2.properties``,
the KRaft log dir, ``broker.log`` and ``broker.pid`` (and with ``security="sasl_ssl"`` the TLS
files under ``tls/`` and the SCRAM credentials in ``sasl.json``). The dir is readable by its
owner only, and the broker's JVM gets a minimal environment, never the connector's secrets.
``stop`` ends only the process whose pid file is in that dir and whose command line names
that dir's ``server.properties``.
"""

from __future__ import annotations

import base64
import json
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from streams.errors import LocalKafkaError
from streams.localkafka.jars import ensure_jars
from streams.localkafka.tls import ensure_broker_tls, write_private

START_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 30.0
READY_LOG_LINE = "Kafka Server started"
SECURITY_MODES = ("plaintext", "sasl_ssl")
SASL_MECHANISM = "SCRAM-SHA-512"
SASL_USERNAME = "connector"
# The only variables the broker's JVM inherits: API keys, tokens and passwords stay out.
JVM_ENVIRONMENT = ("PATH", "JAVA_HOME", "LANG", "LC_ALL", "TZ", "TMPDIR")

_LOG4J2 = """status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = {log_file}
appender.file.filePermissions = rw-------
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.kafka.name = kafka
logger.kafka.level = INFO
logger.state.name = state.change.logger
logger.state.level = WARN
"""


def default_data_dir(cache_dir: Path) -> Path:
    """The data dir ``kafka start`` uses when none is given."""
    return cache_dir / "broker"


@dataclass(frozen=True)
class BrokerInfo:
    """A running broker: its process and where clients reach it."""

    pid: int
    host: str
    port: int
    controller_port: int
    data_dir: Path

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"


def port_in_use(host: str, port: int) -> bool:
    """True when something accepts connections, or holds the port, on ``host:port``."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return True
    return False


PICKED_PORTS = range(20_000, 32_768)
"""Where ``free_port`` looks: below the range Linux hands out to outgoing connections
(32768-60999 by default), so no client socket takes a picked port before the broker binds it."""


def free_port(host: str = "127.0.0.1", *, span: int = 1) -> int:
    """The first of ``span`` consecutive ports nobody listens on right now, picked at random
    in ``PICKED_PORTS`` (processes picking at the same time rarely meet)."""
    pick = random.SystemRandom()
    for _ in range(1_000):
        first = pick.randrange(PICKED_PORTS.start, PICKED_PORTS.stop - span + 1)
        if all(_bindable(host, port) for port in range(first, first + span)):
            return first
    raise LocalKafkaError(f"no {span} free consecutive ports on {host} in {PICKED_PORTS}")


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
        return True


def new_cluster_id() -> str:
    """A KRaft cluster id: 16 random bytes, base64url without padding.

    Never one starting with ``-``: the storage tool would read it as an option.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class LocalKafka:
    """A development broker bound to loopback, kept in ``data_dir``."""

    def __init__(
        self,
        data_dir: Path,
        cache_dir: Path,
        *,
        port: int = 9092,
        controller_port: int | None = None,
        host: str = "127.0.0.1",
        heap: str = "512m",
        security: str = "plaintext",
    ) -> None:
        if security not in SECURITY_MODES:
            raise LocalKafkaError(f"security must be one of {', '.join(SECURITY_MODES)}")
        self.security = security
        self.data_dir = data_dir.expanduser().resolve()
        self.cache_dir = cache_dir.expanduser()
        self.host = host
        self.port = port
        self.controller_port = controller_port if controller_port is not None else port + 1
        self.heap = heap

    @property
    def config_file(self) -> Path:
        return self.data_dir / "server.properties"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "broker.log"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "broker.pid"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "kraft"

    @property
    def _formatted_as(self) -> Path:
        """Records the security mode the data dir was formatted with."""
        return self.data_dir / "security"

    @property
    def sasl_file(self) -> Path:
        return self.data_dir / "sasl.json"

    def client_settings(self) -> dict[str, str]:
        """The connector settings (environment variables) that reach this broker."""
        running = self.status()
        port = running.port if running is not None else self.port
        settings = {"KAFKA_BOOTSTRAP_SERVERS": f"{self.host}:{port}"}
        if self.security == "sasl_ssl":
            settings.update(
                KAFKA_SECURITY_PROTOCOL="SASL_SSL",
                KAFKA_SASL_MECHANISM=SASL_MECHANISM,
                KAFKA_SASL_USERNAME=SASL_USERNAME,
                KAFKA_SASL_PASSWORD=self._sasl_password(),
                KAFKA_SSL_CAFILE=str(ensure_broker_tls(self.data_dir / "tls", self.host).ca_file),
            )
        return settings

    def start(self, progress: Callable[[str], None] = lambda _: None) -> BrokerInfo:
        """Start the broker (or return the one already running from this data dir)."""
        running = self.status()
        if running is not None:
            progress(f"already running (pid {running.pid})")
            return running
        java = shutil.which("java")
        if java is None:
            raise LocalKafkaError("`java` is not on PATH; Kafka needs Java 17 or newer")
        for port in (self.port, self.controller_port):
            if port_in_use(self.host, port):
                raise LocalKafkaError(
                    f"port {self.host}:{port} is already in use; pick another with --port"
                )
        libs = ensure_jars(self.cache_dir, progress)
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        made_as = self._formatted_as.read_text() if self._formatted_as.exists() else "plaintext"
        if (self.log_dir / "meta.properties").exists() and made_as != self.security:
            raise LocalKafkaError(
                f"{self.data_dir} holds a broker made with --security {made_as}; "
                "use that, or another --data-dir"
            )
        self._write_config()
        classpath = f"{libs}/*"
        if not (self.log_dir / "meta.properties").exists():
            self._format(java, classpath)
            write_private(self._formatted_as, self.security.encode())
        started = time.monotonic()
        log_offset = self.log_file.stat().st_size if self.log_file.exists() else 0
        output = os.open(
            self.data_dir / "broker.out", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600
        )
        try:
            # posix_spawn, not Popen: the broker outlives this process and is never waited on here.
            pid = os.posix_spawn(
                java,
                [
                    java,
                    f"-Xmx{self.heap}",
                    f"-Xms{self.heap}",
                    "-XX:+UseG1GC",
                    "-Djava.awt.headless=true",
                    f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
                    "-cp",
                    classpath,
                    "kafka.Kafka",
                    str(self.config_file),
                ],
                jvm_environment(),
                file_actions=[
                    (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                    (os.POSIX_SPAWN_DUP2, output, 1),
                    (os.POSIX_SPAWN_DUP2, output, 2),
                ],
                setsid=True,
            )
        finally:
            os.close(output)
        write_private(
            self.pid_file,
            json.dumps(
                {
                    "pid": pid,
                    "host": self.host,
                    "port": self.port,
                    "controller_port": self.controller_port,
                }
            ).encode(),
        )
        self._wait_ready(pid, log_offset)
        progress(f"broker ready in {time.monotonic() - started:.1f}s (pid {pid})")
        return self._info(pid)

    def stop(self) -> bool:
        """Stop this data dir's broker. False when it was not running."""
        info = self.status()
        if info is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        os.kill(info.pid, signal.SIGTERM)
        if not _wait_exit(info.pid, STOP_TIMEOUT_SECONDS):
            os.kill(info.pid, signal.SIGKILL)
            _wait_exit(info.pid, 10.0)
        self.pid_file.unlink(missing_ok=True)
        return True

    def status(self) -> BrokerInfo | None:
        """The running broker of this data dir, or None."""
        try:
            recorded = json.loads(self.pid_file.read_text())
        except (FileNotFoundError, ValueError):
            return None
        pid = int(recorded["pid"])
        if not self._is_our_process(pid):
            return None
        return BrokerInfo(
            pid=pid,
            host=recorded["host"],
            port=int(recorded["port"]),
            controller_port=int(recorded["controller_port"]),
            data_dir=self.data_dir,
        )

    def log_tail(self, lines: int = 30) -> str:
        """The last lines the broker wrote, for error messages."""
        chunks = []
        for path in (self.data_dir / "broker.out", self.log_file):
            if path.exists():
                chunks.extend(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(chunks[-lines:])

    def _info(self, pid: int) -> BrokerInfo:
        return BrokerInfo(pid, self.host, self.port, self.controller_port, self.data_dir)

    def _sasl_password(self) -> str:
        """The SCRAM user's password, made once per data dir."""
        try:
            return str(json.loads(self.sasl_file.read_text())["password"])
        except FileNotFoundError:
            password = secrets.token_urlsafe(24)
            write_private(self.sasl_file, json.dumps({"password": password}).encode())
            return password

    def _listener_properties(self) -> dict[str, str]:
        """The client listener: PLAINTEXT, or SASL_SSL with SCRAM and the data dir's TLS files."""
        controller = f"CONTROLLER://{self.host}:{self.controller_port}"
        if self.security == "plaintext":
            return {
                "listeners": f"PLAINTEXT://{self.host}:{self.port},{controller}",
                "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
                "inter.broker.listener.name": "PLAINTEXT",
                "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            }
        tls = ensure_broker_tls(self.data_dir / "tls", self.host)
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{SASL_USERNAME}" password="{self._sasl_password()}";'
        )
        return {
            "listeners": f"SASL_SSL://{self.host}:{self.port},{controller}",
            "advertised.listeners": f"SASL_SSL://{self.host}:{self.port}",
            "inter.broker.listener.name": "SASL_SSL",
            "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,SASL_SSL:SASL_SSL",
            "sasl.enabled.mechanisms": SASL_MECHANISM,
            "sasl.mechanism.inter.broker.protocol": SASL_MECHANISM,
            f"listener.name.sasl_ssl.{SASL_MECHANISM.lower()}.sasl.jaas.config": jaas,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(tls.keystore_file),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(tls.ca_file),
            "ssl.client.auth": "none",
        }

    def _write_config(self) -> None:
        write_private(
            self.data_dir / "log4j2.properties",
            _LOG4J2.format(log_file=self.log_file).encode(),
        )
        properties = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{self.host}:{self.controller_port}",
            "controller.listener.names": "CONTROLLER",
            **self._listener_properties(),
            "log.dirs": str(self.log_dir),
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "10",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "true",
        }
        write_private(
            self.config_file,
            "".join(f"{key}={value}\n" for key, value in properties.items()).encode(),
        )

    def _format(self, java: str, classpath: str) -> None:
        """Format the KRaft log dir (with the SCRAM user for ``sasl_ssl``).

        The arguments go to the JVM in an argument file readable by its owner only, so the
        SCRAM password never shows on a command line (``/proc/PID/cmdline`` is world-readable).
        """
        arguments = [
            "-cp",
            classpath,
            f"-Dlog4j2.configurationFile={self.data_dir / 'log4j2.properties'}",
            "kafka.tools.StorageTool",
            "format",
            "-t",
            new_cluster_id(),
            "-c",
            str(self.config_file),
        ]
        if self.security == "sasl_ssl":
            user = f"name={SASL_USERNAME},password={self._sasl_password()}"
            arguments += ["--add-scram", f"{SASL_MECHANISM}=[{user}]"]
        argument_file = self.data_dir / "format.args"
        write_private(argument_file, "\n".join(json.dumps(arg) for arg in arguments).encode())
        try:
            result = subprocess.run(
                [java, f"@{argument_file}"],
                env=jvm_environment(),
                capture_output=True,
                text=True,
                check=False,
            )
        finally:
            argument_file.unlink(missing_ok=True)
        if result.returncode != 0:
            raise LocalKafkaError(
                f"formatting the KRaft data dir {self.log_dir} failed:\n"
                + (result.stdout + result.stderr).strip()[-2000:]
            )

    def _wait_ready(self, pid: int, log_offset: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            exit_status = _reap(pid)
            if exit_status is not None:
                self.pid_file.unlink(missing_ok=True)
                raise LocalKafkaError(
                    f"the broker exited with status {exit_status} during start-up; "
                    f"last log lines:\n{self.log_tail()}"
                )
            if self._logged_ready(log_offset) and port_in_use(self.host, self.port):
                return
            time.sleep(0.2)
        os.kill(pid, signal.SIGKILL)
        _wait_exit(pid, 10.0)
        self.pid_file.unlink(missing_ok=True)
        raise LocalKafkaError(
            f"the broker did not become ready within {START_TIMEOUT_SECONDS:.0f}s; "
            f"last log lines:\n{self.log_tail()}"
        )

    def _logged_ready(self, offset: int) -> bool:
        try:
            with open(self.log_file, "rb") as log:
                log.seek(offset)
                return READY_LOG_LINE.encode() in log.read()
        except FileNotFoundError:
            return False

    def _is_our_process(self, pid: int) -> bool:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            return False
        return b"kafka.Kafka" in cmdline and str(self.config_file).encode() in cmdline


def jvm_environment() -> dict[str, str]:
    """The environment of the broker's JVM: only ``JVM_ENVIRONMENT`` of this process's."""
    return {name: os.environ[name] for name in JVM_ENVIRONMENT if name in os.environ}


def _reap(pid: int) -> int | None:
    """The exit status of our child ``pid`` if it has ended, else None."""
    try:
        finished, status = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return None if Path(f"/proc/{pid}").exists() else -1
    return os.waitstatus_to_exitcode(status) if finished == pid else None


def _wait_exit(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _reap(pid) is not None or not Path(f"/proc/{pid}").exists() or _is_zombie(pid):
            return True
        time.sleep(0.1)
    return False


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (FileNotFoundError, IndexError):
        return True
