#!/usr/bin/env python3
"""Build tests/data/tokenizer/gemma3-golden.jsonl: token ids from llama.cpp's
llama-server for the LongBench-Write prompts and the handwritten corpus, so the
Rust tokenizer can be checked against llama.cpp token for token.

Usage: scripts/golden-tokenize.py [--model GGUF] [--server BIN]
Python 3 stdlib only. Starts llama-server on a free port and stops it after.
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.expanduser("~/.cache/longwriter")
DATA = os.path.join(ROOT, "tests", "data", "tokenizer")
PROMPTS = os.path.join(ROOT, "data", "longbench-write", "longbench_write.jsonl")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(port, path, body):
    req = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        return json.load(resp)


def wait_healthy(port, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            sys.exit(f"llama-server exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    sys.exit("llama-server did not become healthy")


def texts():
    """Yield every golden text: prompts, corpus lines, line groups, whole corpus."""
    with open(PROMPTS, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                yield json.loads(line)["prompt"]
    with open(os.path.join(DATA, "corpus.txt"), encoding="utf-8") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    yield from lines
    joiners = ["\n", "\n\n", "\r\n", "\t", "  \n", " \n\n\n"]
    for i in range(0, len(lines), 5):
        yield joiners[(i // 5) % len(joiners)].join(lines[i : i + 5])
    yield "\n".join(lines)
    # Edge cases that are not expressible as corpus lines.
    yield from ["", " ", "  ", "\n", "\t\t", " \n ", "\r\n\r\n", "a\u00a0b", "\u3000x"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(CACHE, "models", "gemma-3-270m-q4_k_m.gguf"))
    ap.add_argument("--server", default=os.path.join(CACHE, "bin", "llama-server"))
    ap.add_argument("--out", default=os.path.join(DATA, "gemma3-golden.jsonl"))
    args = ap.parse_args()
    port = free_port()
    cmd = [args.server, "-m", args.model, "--host", "127.0.0.1", "--port", str(port),
           "--no-jinja", "--chat-template", "gemma", "-c", "2048", "-t", "1", "-np", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(port, proc)
        n = 0
        with open(args.out, "w", encoding="utf-8") as out:
            for text in texts():
                body = {"content": text, "add_special": False, "with_pieces": False}
                tokens = post(port, "/tokenize", body)["tokens"]
                out.write(json.dumps({"text": text, "tokens": tokens}, ensure_ascii=False) + "\n")
                n += 1
        print(f"wrote {n} golden texts to {args.out}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


main()
