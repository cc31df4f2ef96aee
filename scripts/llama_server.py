"""Starting llama-server for the golden-data scripts: a context manager that runs it on a free
loopback port with the Gemma 3 test model's settings and waits for /health, and a JSON POST.
Imported by golden-greedy.py and llama-self-agreement.py."""
import contextlib, json, socket, subprocess, time, urllib.request


def post(port, path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.load(r)


@contextlib.contextmanager
def running(server, model, extra):
    """llama-server on MODEL (2 threads, one slot, 4,096 positions, Gemma's template and full
    sliding-window cache) with the EXTRA flags; yields its port."""
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    proc = subprocess.Popen([server, "-m", model, "--host", "127.0.0.1", "--port", str(port),
                             "--no-jinja", "--chat-template", "gemma", "--swa-full", "-c", "4096",
                             "-t", "2", "-np", "1"] + extra,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(240):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1)
                break
            except Exception:
                time.sleep(0.5)
        yield port
    finally:
        proc.kill()
        proc.wait()
