"""Find or fetch the Kafka broker jars: an existing ``KAFKA_HOME``, the cache, or Maven Central.

Maven (strict checksums, ``-C``) resolves ``org.apache.kafka:kafka_2.13`` with its runtime
dependencies plus a log4j2 SLF4J binding (the Maven artifacts ship none, and without one the
broker logs nothing).
A finished download is marked with a file, so an interrupted one is fetched again; processes
starting brokers at once take turns on a lock file, so one fetches and the others reuse it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from streams.errors import LocalKafkaError

KAFKA_VERSION = "4.1.1"
# The log4j version Kafka 4.1.1 itself depends on; the binding must match it.
LOG4J_VERSION = "2.24.3"

_COMPLETE_MARKER = ".complete"

_POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>claude-connector</groupId>
  <artifactId>kafka-broker-jars</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>{kafka}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j}</version>
    </dependency>
  </dependencies>
</project>
"""


def kafka_home_libs(environ: dict[str, str] | None = None) -> Path | None:
    """``$KAFKA_HOME/libs`` when it exists: an installed Kafka is used as it is."""
    home = (os.environ if environ is None else environ).get("KAFKA_HOME", "").strip()
    if not home:
        return None
    libs = Path(home).expanduser() / "libs"
    if not libs.is_dir():
        raise LocalKafkaError(f"KAFKA_HOME={home} has no libs/ folder")
    return libs


def cached_libs(cache_dir: Path) -> Path:
    """Where the fetched jars of ``KAFKA_VERSION`` live in the cache."""
    return cache_dir / f"kafka-{KAFKA_VERSION}" / "libs"


def ensure_jars(cache_dir: Path, progress: Callable[[str], None] = lambda _: None) -> Path:
    """The folder holding the broker's jars, fetching them from Maven Central the first time."""
    installed = kafka_home_libs()
    if installed is not None:
        return installed
    libs = cached_libs(cache_dir)
    if (libs / _COMPLETE_MARKER).exists():
        return libs
    libs.parent.mkdir(parents=True, exist_ok=True)
    with open(libs.parent / ".fetch.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (libs / _COMPLETE_MARKER).exists():
            return libs
        return _fetch(libs, progress)


def _fetch(libs: Path, progress: Callable[[str], None]) -> Path:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise LocalKafkaError(
            f"no cached Kafka jars in {libs.parent} and no `mvn` on PATH to fetch them; "
            "install Maven (e.g. `apt-get install maven`) or set KAFKA_HOME to a Kafka install"
        )
    progress(f"fetching Apache Kafka {KAFKA_VERSION} jars from Maven Central into {libs} ...")
    if libs.exists():
        shutil.rmtree(libs)
    libs.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="kafka-pom-") as workdir:
        pom = Path(workdir) / "pom.xml"
        pom.write_text(_POM.format(kafka=KAFKA_VERSION, log4j=LOG4J_VERSION))
        result = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                # Strict checksums: a download whose checksum does not match fails the fetch.
                "-C",
                "-f",
                str(pom),
                "dependency:copy-dependencies",
                f"-DoutputDirectory={libs}",
                "-DincludeScope=runtime",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
        raise LocalKafkaError(f"Maven could not fetch Kafka {KAFKA_VERSION}:\n{tail}")
    if not any(libs.glob("kafka_2.13-*.jar")):
        raise LocalKafkaError(f"Maven finished but no kafka_2.13 jar is in {libs}")
    (libs / _COMPLETE_MARKER).write_text(KAFKA_VERSION)
    progress(f"fetched {sum(1 for _ in libs.glob('*.jar'))} jars")
    return libs
