"""Talks to `longwriter serve` with the official `ollama` Python client (from PyPI) and prints
one line per call, for the Rust test to check:

  MODELS <name> ...            from client.list()
  CONTEXT <n>                  the *.context_length of client.show(name).modelinfo
  CHAT <done_reason> <prompt_eval_count> <eval_count> <text as JSON>   a streamed chat
  GENERATE <done_reason> <eval_count> <text as JSON>                   a whole generate
  ERROR <status> <message>     client.chat() with a model the server does not have

Usage: ollama_client.py HOST KEY [MAX_TOKENS]
"""
import json
import sys

from ollama import Client, ResponseError

host, key = sys.argv[1], sys.argv[2]
max_tokens = int(sys.argv[3]) if len(sys.argv) > 3 else 24
client = Client(host=host, headers={"Authorization": f"Bearer {key}"}, timeout=120)

models = [m.model for m in client.list().models]
print("MODELS", *models)
name = models[0]

info = client.show(name).modelinfo or {}
context = [v for k, v in info.items() if k.endswith(".context_length")]
print("CONTEXT", context[0] if context else "-")

text, last = "", None
for part in client.chat(
    model=name,
    messages=[{"role": "user", "content": "Say something"}],
    stream=True,
    options={"num_predict": max_tokens, "temperature": 0, "seed": 1},
):
    text += part.message.content or ""
    last = part
assert last is not None and last.done, "the stream ended without done: true"
print("CHAT", last.done_reason, last.prompt_eval_count, last.eval_count, json.dumps(text))

reply = client.generate(
    model=name, prompt="Once upon a time", options={"num_predict": max_tokens, "temperature": 0}
)
print("GENERATE", reply.done_reason, reply.eval_count, json.dumps(reply.response))

try:
    client.chat(model="no-such-model", messages=[{"role": "user", "content": "hi"}])
    print("ERROR none")
except ResponseError as e:
    print("ERROR", e.status_code, e.error)
