#!/usr/bin/env python3
"""How well llama.cpp agrees with itself: the baseline for the engine's greedy agreement.

Runs llama-server on the Gemma 3 test model with each of several of its own valid settings
(flash attention on, an f32 KV cache, weight repacking off), asks each for the 16 greedy tokens
of the prompts in tests/data/engine/greedy.json (made with the defaults and flash attention
off, by scripts/golden-greedy.py), and prints for each setting on how many prompts all 16
tokens agree, and the median and largest log-probability difference over the agreeing steps.
Each run is saved in the golden file's format, so the engine can be compared with it too:

    LONGWRITER_GREEDY_GOLDEN=OUT/fa-on.json cargo test --test integration greedy_agrees -- --nocapture

Usage: scripts/llama-self-agreement.py [OUT_DIR] [MODEL.gguf] [LLAMA_SERVER]
"""
import json, os, sys

sys.path.insert(0, os.path.dirname(__file__))
from llama_server import post, running  # noqa: E402

HOME = os.path.expanduser("~/.cache/longwriter")
OUT = sys.argv[1] if len(sys.argv) > 1 else "target/llama-self-agreement"
MODEL = sys.argv[2] if len(sys.argv) > 2 else f"{HOME}/models/gemma-3-270m-q4_k_m.gguf"
SERVER = sys.argv[3] if len(sys.argv) > 3 else f"{HOME}/bin/llama-server"
GOLDEN = os.path.join(os.path.dirname(__file__), "..", "tests", "data", "engine", "greedy.json")
VARIANTS = {
    "fa-on": ["-fa", "on"],
    "f32-cache": ["-fa", "off", "-ctk", "f32", "-ctv", "f32"],
    "no-repack": ["-fa", "off", "--no-repack"],
}


def run(extra, cases):
    with running(SERVER, MODEL, extra) as port:
        out = []
        for case in cases:
            r = post(port, "/completion", {"prompt": case["prompt_ids"], "n_predict": 16,
                                           "temperature": 0, "cache_prompt": False,
                                           "return_tokens": True, "n_probs": 5})
            top = [[[t["id"], round(t["logprob"], 4)] for t in step["top_logprobs"]]
                   for step in r["completion_probabilities"]]
            out.append({"prompt": case["prompt"], "prompt_ids": case["prompt_ids"],
                        "greedy": r["tokens"], "top": top})
        return out


def main():
    with open(GOLDEN) as f:
        golden = json.load(f)
    os.makedirs(OUT, exist_ok=True)
    for name, extra in VARIANTS.items():
        cases = run(extra, golden)
        with open(os.path.join(OUT, f"{name}.json"), "w") as f:
            json.dump(cases, f, indent=1)
        full, diffs = 0, []
        for ours, theirs in zip(cases, golden):
            n = 0
            while n < 16 and ours["greedy"][n] == theirs["greedy"][n]:
                n += 1
            full += n == 16
            for i in range(n):
                want = dict((t, l) for t, l in theirs["top"][i])
                diffs += [abs(l - want[t]) for t, l in ours["top"][i] if t in want]
        diffs.sort()
        print(f"llama.cpp {name} vs the golden run: all 16 tokens on {full}/{len(golden)} prompts, "
              f"log-prob diff median {diffs[len(diffs) // 2]:.3f} max {diffs[-1]:.3f}")
    print(f"runs saved in {OUT}/")


if __name__ == "__main__":
    main()
