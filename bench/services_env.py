"""Where scripts/bench runs: an isolated Podman 4 service, the plain test registry and, when nginx is installed, a
rate-limited nginx proxy in front of it (start_env), and Env, what every section gets to reach them."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, List, Optional

import services  # noqa: E402  (tests/services.py; bench.py puts tests/ on sys.path)


class Nginx:
    """nginx with its own config in front of a registry, limiting each connection's rate."""

    def __init__(self, workdir: Path, upstream: str, rate: str):
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        (self.workdir / "logs").mkdir(exist_ok=True)
        self.port = services.free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.rate = rate
        conf = self.workdir / "nginx.conf"
        conf.write_text(f"""
daemon off;
worker_processes 1;
pid {self.workdir}/nginx.pid;
error_log {self.workdir}/logs/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {self.workdir}/body;
  proxy_temp_path {self.workdir}/proxy;
  fastcgi_temp_path {self.workdir}/fastcgi;
  uwsgi_temp_path {self.workdir}/uwsgi;
  scgi_temp_path {self.workdir}/scgi;
  server {{
    listen {self.host};
    client_max_body_size 0;
    location / {{
      proxy_pass http://{upstream};
      proxy_set_header Host $http_host;
      proxy_request_buffering off;
      proxy_http_version 1.1;
      limit_rate {rate};
      proxy_max_temp_file_size 0;  # workers cannot write temp files here; limit_rate needs buffering
    }}
  }}
}}
""")
        self._proc = services._Process("nginx", ["nginx", "-c", str(conf), "-p", str(self.workdir)],
                                       self.workdir / "nginx.out")
        self._proc.start()
        self._proc.wait_ready(self._probe, 20)
        services._cleanups.append(self)

    def _probe(self) -> bool:
        import urllib.request
        with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=2) as r:
            return r.status == 200

    def stop(self) -> None:
        self._proc.stop()


@dataclass
class Env:
    service: Any                 # services.PodmanService
    registry_host: str           # plain HTTP registry, insecure in registries.conf
    base_image: Any              # services.BaseImage
    proxy_host: Optional[str] = None
    proxy_rate: Optional[str] = None
    workdir: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="pnb-bench-")))

    @property
    def base_url(self) -> str:
        return self.service.base_url

    def cli_cmd(self, *args: str) -> List[str]:
        return self.service._podman() + ["--remote", "--url", self.base_url, *map(str, args)]

    def cli(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        return self.service.cli(*args, check=check, timeout=900)

    def cli_env(self) -> dict:
        return self.service._service_env()


def start_env(workdir: Path, proxy_rate: Optional[str]) -> Env:
    workdir.mkdir(parents=True, exist_ok=True)
    regs = services.Registries(workdir)
    proxy = None
    if proxy_rate and shutil.which("nginx"):
        proxy = Nginx(workdir / "nginx", regs.plain.host, proxy_rate)
        with open(regs.registries_conf, "a") as f:
            f.write(f'\n[[registry]]\nlocation = "{proxy.host}"\ninsecure = true\n')
    elif proxy_rate:
        print("nginx is not installed: the rate-limited pull is skipped", flush=True)
    service = services.PodmanService("4", workdir / "podman4", regs.registries_conf, regs.ca_files)
    base = services.build_base_image(service, regs)
    return Env(service, regs.plain.host, base, proxy.host if proxy else None,
               proxy_rate if proxy else None, workdir)
