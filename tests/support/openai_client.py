"""Streams one completion from `longwriter serve` with the official `openai` client and prints
the text, then a last line `FINISH <reason> <prompt_tokens> <completion_tokens>` (the usage
chunk's counts, `- -` when there was none).

Usage: openai_client.py BASE_URL KEY [chat|completion] [MAX_TOKENS]
  chat (the default) streams a chat completion of "Say something";
  completion streams a raw completion of "Once upon a time" at temperature 0.
"""
import sys

from openai import OpenAI

client = OpenAI(base_url=sys.argv[1], api_key=sys.argv[2], max_retries=0, timeout=120)
mode = sys.argv[3] if len(sys.argv) > 3 else "chat"
extra = {"max_tokens": int(sys.argv[4])} if len(sys.argv) > 4 else {}
model = client.models.list().data[0].id
if mode == "chat":
    stream = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": "Say something"}],
        stream=True,
        stream_options={"include_usage": True},
        **extra,
    )
else:
    stream = client.completions.create(
        model=model,
        prompt="Once upon a time",
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
        **extra,
    )
finish, usage = None, None
for chunk in stream:
    if chunk.usage:
        usage = chunk.usage
    if chunk.choices:
        choice = chunk.choices[0]
        text = choice.delta.content if mode == "chat" else choice.text
        if text:
            sys.stdout.write(text)
        if choice.finish_reason:
            finish = choice.finish_reason
counts = f"{usage.prompt_tokens} {usage.completion_tokens}" if usage else "- -"
sys.stdout.write(f"\nFINISH {finish} {counts}\n")
