#!/usr/bin/env python3
"""Writes llama.cpp's greedy continuations of a few prompts as golden data for the engine tests.

Starts llama-server on a free port with the Gemma 3 test model (its default f16 KV cache, flash
attention off: the arithmetic the engine reproduces), tokenizes each prompt with the server (BOS
added), asks the raw /completion endpoint for 16 greedy tokens from those exact token ids with
the top 5 log-probabilities at each step, and writes tests/data/engine/greedy.json. CI does not
need llama-server: the JSON is committed.

Usage: scripts/golden-greedy.py [MODEL.gguf] [LLAMA_SERVER]
"""
import json, os, sys

sys.path.insert(0, os.path.dirname(__file__))
from llama_server import post, running  # noqa: E402

HOME = os.path.expanduser("~/.cache/longwriter")
MODEL = sys.argv[1] if len(sys.argv) > 1 else f"{HOME}/models/gemma-3-270m-q4_k_m.gguf"
SERVER = sys.argv[2] if len(sys.argv) > 2 else f"{HOME}/bin/llama-server"
OUT = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "engine", "greedy.json")
PROMPTS = [
    "The capital of France is",
    "Once upon a time, in a small village by the sea,",
    "def fibonacci(n):\n",
    "The three most important inventions of the twentieth century were",
    "<start_of_turn>user\nWrite a haiku about autumn.<end_of_turn>\n<start_of_turn>model\n",
]


def main():
    cases = []
    with running(SERVER, MODEL, ["-fa", "off"]) as port:
        for prompt in PROMPTS:
            ids = post(port, "/tokenize", {"content": prompt, "add_special": True, "parse_special": True})["tokens"]
            r = post(port, "/completion", {"prompt": ids, "n_predict": 16, "temperature": 0,
                                           "cache_prompt": False, "return_tokens": True,
                                           "n_probs": 5})
            top = [[[t["id"], round(t["logprob"], 4)] for t in step["top_logprobs"]]
                   for step in r["completion_probabilities"]]
            cases.append({"prompt": prompt, "prompt_ids": ids, "greedy": r["tokens"], "top": top})
    with open(OUT, "w") as f:
        json.dump(cases, f, indent=1)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
