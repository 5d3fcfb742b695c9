"""Record raw Podman REST stream bodies into this folder (see README.md); run as root: python record.py [4] [5]."""
import io
import json
import sys
import tarfile
import time
import urllib.parse
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
import services  # noqa: E402

q = urllib.parse.quote


def record(svc, name, method, path, body=None, headers=None):
    """Send one request with http.client; save the body bytes exactly as read, and status/headers/read sizes."""
    conn = services.UnixHTTPConnection(svc.socket_path, timeout=300)
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    chunks, t0 = [], time.monotonic()
    while True:
        data = resp.read1(65536)
        if not data:
            break
        chunks.append((round(time.monotonic() - t0, 3), data))
    conn.close()
    raw = b"".join(c for _, c in chunks)
    prefix = f"podman{svc.which}-{name}"
    (HERE / f"{prefix}.bin").write_bytes(raw)
    meta = {"request": f"{method} {path}", "podman": svc.version, "status": resp.status,
            "headers": dict(resp.getheaders()), "reads": [[t, len(c)] for t, c in chunks]}
    (HERE / f"{prefix}.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(prefix, resp.status, len(raw), "bytes in", len(chunks), "reads")
    return resp.status, raw


def tar_context(files):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 0
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def main(which):
    regs = services.Registries(services.tempfile.mkdtemp(prefix="pnb-rec-"))
    svc = services.PodmanService(which, registries_conf=regs.registries_conf, ca_files=regs.ca_files)
    base = services.build_base_image(svc, regs)
    plain, src = regs.plain.host, "localhost/podman-nb/streamsrc:latest"
    tar = {"Content-Type": "application/x-tar"}
    ok = tar_context({"Containerfile": f"FROM {base.local}\n"
                      "RUN head -c 3000000 /dev/urandom > /big && echo step-two-ran\n"
                      "COPY hello.txt /hello.txt\n", "hello.txt": "hello\n"})
    record(svc, "libpod-build", "POST", f"/v4.0.0/libpod/build?t={q(src)}&dockerfile=Containerfile", ok, tar)
    bad = tar_context({"Containerfile": f"FROM {base.local}\nRUN echo about-to-fail && exit 3\nCOPY x /x\n"})
    record(svc, "libpod-build-fail", "POST", "/v4.0.0/libpod/build?dockerfile=Containerfile", bad, tar)
    dest = f"{plain}/podman-nb/streamsrc:latest"
    record(svc, "libpod-push", "POST",
           f"/v4.0.0/libpod/images/{src}/push?destination={q(dest)}&tlsVerify=false&quiet=false")
    svc.cli("rmi", src)
    record(svc, "libpod-pull", "POST", f"/v4.0.0/libpod/images/pull?reference={q(dest)}&tlsVerify=false")
    svc.cli("rmi", dest)
    record(svc, "compat-pull", "POST",
           f"/v1.41/images/create?fromImage={q(plain + '/podman-nb/streamsrc')}&tag=latest")
    missing = f"{plain}/podman-nb/does-not-exist:latest"
    record(svc, "libpod-pull-missing", "POST", f"/v4.0.0/libpod/images/pull?reference={q(missing)}&tlsVerify=false")
    record(svc, "compat-pull-missing", "POST",
           f"/v1.41/images/create?fromImage={q(plain + '/podman-nb/does-not-exist')}&tag=latest")
    record(svc, "libpod-pull-unauthorized", "POST", f"/v4.0.0/libpod/images/pull?reference={q(base.secure)}")
    # a 300 MB layer: long enough (over 1 s) for Podman 4's compat pull to emit a "Downloading" progress line
    big, big_dest = "localhost/podman-nb/large:latest", f"{plain}/podman-nb/large:latest"
    ctx = tar_context({"Containerfile": f"FROM {base.local}\nRUN head -c 300000000 /dev/urandom > /big\n"})
    svc.request("POST", f"/v4.0.0/libpod/build?t={q(big)}&dockerfile=Containerfile", ctx, tar)
    svc.cli("push", "--tls-verify=false", big, big_dest)
    svc.cli("rmi", big)
    record(svc, "compat-pull-large", "POST",
           f"/v1.41/images/create?fromImage={q(plain + '/podman-nb/large')}&tag=latest")
    svc.cli("rmi", big_dest)
    record(svc, "libpod-pull-large", "POST", f"/v4.0.0/libpod/images/pull?reference={q(big_dest)}&tlsVerify=false")
    svc.close()
    regs.stop()
    services.shutil.rmtree(svc.workdir, ignore_errors=True)
    services.shutil.rmtree(regs.workdir, ignore_errors=True)


if __name__ == "__main__":
    for w in sys.argv[1:] or ["4", "5"]:
        main(w)
