#!/usr/bin/env python3
"""A tiny OpenAI-compatible streaming server for measuring the studio (not for tests: those use
tests/support/scripted.rs). Every chat request gets WORDS words streamed at RATE chunks per
second (RATE=0: as fast as possible), one word per chunk; a plan request gets 40 sections
of WORDS words at once. Usage: sse-server.py PORT RATE WORDS"""
import json, sys, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT, RATE, WORDS = int(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3])

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
    def do_GET(self):
        body = json.dumps({"object": "list", "data": [{"id": "measure", "object": "model"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if b"planning a long piece" in body:
            self.reply_plan()
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        words = ["keeper", "light", "stone", "harbor", "winter", "signal", "river", "night."]
        for i in range(WORDS):
            chunk = {"choices": [{"index": 0, "delta": {"content": words[i % 8] + " "}}]}
            self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
            if RATE > 0:
                self.wfile.flush()
                time.sleep(1.0 / RATE)
        end = {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
        self.wfile.write(b"data: " + json.dumps(end).encode() + b"\n\ndata: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True

    def reply_plan(self):
        lines = "".join(
            f"Paragraph {i} - Title: Part {i} - Main Point: Stage {i} of the lighthouse. - Word Count: {WORDS} words\n"
            for i in range(1, 41)
        )
        chunk = {"choices": [{"index": 0, "delta": {"content": lines}, "finish_reason": "stop"}]}
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\ndata: [DONE]\n\n")
        self.wfile.flush()
        self.close_connection = True

ThreadingHTTPServer(("127.0.0.1", PORT), Handler).serve_forever()
