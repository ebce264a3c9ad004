"""PyTorch reference for ClinPrompt's training methods, written independently of the TypeScript
code: prompt tuning (a soft prompt before the tokens, as peft's PeftModelForCausalLM), LoRA
written by hand (y = x W^T + (alpha / r) (x A^T) B^T on the chosen modules, peft's names and
layout) and full fine-tuning (every weight), on backbone_reference.py's LLaMA forward, with
transformers' masked causal-LM loss (labels shifted by one, -100 ignored, mean over the rest) on
a right-padded batch with an attention mask. Used by the gradient parity test and
`npm run bench:train`. Not a runtime dependency.

Usage: python3 train_reference.py < request.json > result.json
request: {"dir": "<hf folder>", "method": "pt" | "lora" | "full",
          "lora": {"r": r, "alpha": a, "target_modules": [...]} (lora),
          "values": {peft name: [floats]} (pt: prompt_embeddings; lora: every lora_A / lora_B),
          "batches": [{"input_ids": [[...], ...], "attention_mask": [[...], ...],
                       "labels": [[...], ...]}, ...],
          "dtype": "float32" | "float64", "threads": n (optional),
          "bench": {"warmup": n, "repeats": n, "lr": x, "betas": [b1, b2], "eps": x,
                    "weight_decay": x, "max_grad_norm": x} (optional: AdamW steps on the one batch)}
result: without bench {"results": [{"loss": float, "grads": {name: [floats]}}, ...]} (one per batch);
        with bench {"loss": float (last step), "grad_norm": float, "step_ms": [...]};
        both with "threads": torch.get_num_threads(), "peak_rss_mb": float, "torch": version
   or:  {"matmul_peak": {"n": n, "repeats": k}, "threads": n} -> {"gflops": [...], "threads": n}:
        the machine's float32 matmul rate (n x n times n x n), which bench:train reports beside
        each engine's achieved rate
"""
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from backbone_reference import Model  # noqa: E402

PROMPT = "prompt_embeddings"
ATTENTION = ("q_proj", "k_proj", "v_proj", "o_proj")


def lora_trainables(model, settings, values, dtype):
    """peft's lora_A (r, in) / lora_B (out, r) for every targeted module, from the request's values."""
    trainables = {}
    scaling = settings["alpha"] / settings["r"]
    for layer in range(model.layers):
        for m in settings["target_modules"]:
            module = f"model.layers.{layer}.{'self_attn' if m in ATTENTION else 'mlp'}.{m}"
            out, inn = model.w[module + ".weight"].shape
            a_name = f"base_model.model.{module}.lora_A.weight"
            b_name = f"base_model.model.{module}.lora_B.weight"
            a = torch.tensor(values[a_name], dtype=dtype).view(settings["r"], inn).requires_grad_(True)
            b = torch.tensor(values[b_name], dtype=dtype).view(out, settings["r"]).requires_grad_(True)
            model.lora[module] = (a, b, scaling)
            trainables[a_name], trainables[b_name] = a, b
    extra = set(values) - set(trainables)
    if extra:
        raise ValueError(f"values for modules LoRA does not target: {sorted(extra)[:3]}")
    return trainables


def setup(req, dtype):
    """The model and the method's trainable tensors by peft name; the frozen weights need no grad."""
    model = Model(req["dir"])
    model.w = {k: v.to(dtype) for k, v in model.w.items()}
    method = req["method"]
    if method == "full":
        trainables = {k: v.requires_grad_(True) for k, v in model.w.items()}
        return model, trainables, None
    if method == "pt":
        prompt = torch.tensor(req["values"][PROMPT], dtype=dtype).view(-1, model.d).requires_grad_(True)
        return model, {PROMPT: prompt}, prompt
    if method == "lora":
        return model, lora_trainables(model, req["lora"], req["values"], dtype), None
    raise ValueError(f"unknown method {method}")


def causal_lm_loss(logits, labels):
    """transformers' ForCausalLMLoss: position i predicts labels[i + 1]; -100 is ignored; mean."""
    shift_logits = logits[:, :-1].reshape(-1, logits.shape[-1])
    shift_labels = labels[:, 1:].reshape(-1)
    return torch.nn.functional.cross_entropy(shift_logits, shift_labels, ignore_index=-100, reduction="mean")


def decay(name, tensor):
    """Weight decay on matrices (weights, LoRA factors); never on norms or the soft prompt."""
    return name != PROMPT and tensor.dim() == 2


def matmul_gflops(n, repeats):
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        a @ b
        rates.append(2 * n**3 / (time.perf_counter() - t0) / 1e9)
    return rates


def main():
    req = json.load(sys.stdin)
    if req.get("threads"):
        torch.set_num_threads(req["threads"])
    if "matmul_peak" in req:
        rates = matmul_gflops(req["matmul_peak"]["n"], req["matmul_peak"]["repeats"])
        json.dump({"gflops": rates, "threads": torch.get_num_threads(), "torch": torch.__version__}, sys.stdout)
        return
    dtype = torch.float64 if req.get("dtype") == "float64" else torch.float32
    model, trainables, prompt = setup(req, dtype)
    L = 0 if prompt is None else prompt.shape[0]

    def loss_of(batch):
        ids = torch.tensor(batch["input_ids"], dtype=torch.int64)
        attention = torch.tensor(batch["attention_mask"], dtype=torch.int64)
        labels = torch.tensor(batch["labels"], dtype=torch.int64)
        logits, _ = model.forward(ids, None, prompt=prompt, attention_mask=attention)
        return causal_lm_loss(logits[:, L:], labels)  # the virtual tokens carry no label

    result = {}
    bench = req.get("bench")
    if bench:
        (batch,) = req["batches"]
        params = list(trainables.items())
        groups = [
            {"params": [t for n, t in params if decay(n, t)], "weight_decay": bench["weight_decay"]},
            {"params": [t for n, t in params if not decay(n, t)], "weight_decay": 0.0},
        ]
        optimizer = torch.optim.AdamW(
            [g for g in groups if g["params"]], lr=bench["lr"], betas=tuple(bench["betas"]), eps=bench["eps"]
        )
        times = []
        for k in range(bench["warmup"] + bench["repeats"]):
            t0 = time.perf_counter()
            optimizer.zero_grad(set_to_none=True)
            loss = loss_of(batch)
            loss.backward()
            norm = torch.nn.utils.clip_grad_norm_([t for _, t in params], bench["max_grad_norm"])
            optimizer.step()
            if k >= bench["warmup"]:
                times.append((time.perf_counter() - t0) * 1000)
        result.update(step_ms=times, loss=loss.item(), grad_norm=norm.item())
    else:
        result["results"] = []
        for batch in req["batches"]:
            for t in trainables.values():
                t.grad = None
            loss = loss_of(batch)
            loss.backward()
            grads = {n: t.grad.reshape(-1).tolist() for n, t in trainables.items()}
            result["results"].append({"loss": loss.item(), "grads": grads})
    result["threads"] = torch.get_num_threads()
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["torch"] = torch.__version__
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
