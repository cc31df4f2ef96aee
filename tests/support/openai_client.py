"""Streams one chat completion from `longwriter serve` with the official `openai` client and
prints the text, then a last line `FINISH <reason>`. Usage: openai_client.py BASE_URL KEY"""
import sys

from openai import OpenAI

client = OpenAI(base_url=sys.argv[1], api_key=sys.argv[2], max_retries=0, timeout=30)
model = client.models.list().data[0].id
stream = client.chat.completions.create(
    model=model,
    messages=[{"role": "user", "content": "Say something"}],
    stream=True,
    stream_options={"include_usage": True},
)
finish = None
for chunk in stream:
    if chunk.choices:
        delta = chunk.choices[0].delta.content
        if delta:
            sys.stdout.write(delta)
        if chunk.choices[0].finish_reason:
            finish = chunk.choices[0].finish_reason
sys.stdout.write(f"\nFINISH {finish}\n")
