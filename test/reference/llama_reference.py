"""PyTorch reference for ClinPrompt's engine: the same LLaMA-architecture model (HF modeling_llama:
RMSNorm, half-rotated RoPE, grouped-query attention with a causal mask, SwiGLU), a soft prompt
prepended to the token embeddings, and the masked next-token cross-entropy. Written independently
of the TypeScript graph; used by the parity test and the engine benchmark. Not a runtime dependency.

Usage: python3 llama_reference.py < request.json > result.json
request: {"config": {...LlamaGraphConfig}, "weights": "<path>.safetensors", "prompt": [L*d floats],
          "prompt_length": L, "ids": [...], "targets": [...], "mask": [...], "shape": [batch, tokens],
          "dtype": "float32" | "float64", "bench": {"warmup": n, "repeats": n} (optional)}
result: {"loss": float, "grad": [L*d floats], "step_ms": [...] (with bench), "peak_rss_mb": float}
"""
import json
import math
import resource
import struct
import sys
import time

import numpy as np
import torch

DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}


def read_safetensors(path):
    """Minimal .safetensors reader (8-byte LE header length, JSON header, data buffer)."""
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        out = {}
        for name, e in header.items():
            if name == "__metadata__":
                continue
            begin, end = e["data_offsets"]
            dtype = np.dtype(DTYPES[e["dtype"]])
            f.seek(8 + n + begin)
            # One read per tensor: the weights are held once (reading the file whole would double the peak).
            arr = np.fromfile(f, dtype=dtype, count=(end - begin) // dtype.itemsize).reshape(e["shape"])
            out[name] = torch.from_numpy(arr)
    return out


def rms_norm(x, w, eps):
    var = x.pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(var + eps))


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


def forward(c, w, prompt, ids):
    d, h, kvh, hd = c["hiddenSize"], c["numHeads"], c["numKvHeads"], c["headDim"]
    b, t = ids.shape
    emb = w["model.embed_tokens.weight"][ids]  # (b, t, d)
    x = torch.cat([prompt.unsqueeze(0).expand(b, -1, -1), emb], dim=1)  # (b, s, d)
    s = x.shape[1]
    inv_freq = 1.0 / (c["ropeTheta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    freqs = torch.outer(torch.arange(s, dtype=torch.float64), inv_freq)
    e = torch.cat([freqs, freqs], dim=-1)
    cos, sin = e.cos().to(x.dtype), e.sin().to(x.dtype)
    causal = torch.triu(torch.ones(s, s, dtype=torch.bool), diagonal=1)
    rep = h // kvh
    for layer in range(c["numLayers"]):
        p = f"model.layers.{layer}"
        a = rms_norm(x, w[f"{p}.input_layernorm.weight"], c["rmsNormEps"])
        q = (a @ w[f"{p}.self_attn.q_proj.weight"].T).view(b, s, h, hd).transpose(1, 2)
        k = (a @ w[f"{p}.self_attn.k_proj.weight"].T).view(b, s, kvh, hd).transpose(1, 2)
        v = (a @ w[f"{p}.self_attn.v_proj.weight"].T).view(b, s, kvh, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(rep, dim=1)  # repeat_kv
        v = v.repeat_interleave(rep, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        probs = scores.masked_fill(causal, float("-inf")).softmax(-1)
        ctx = (probs @ v).transpose(1, 2).reshape(b, s, h * hd)
        x = x + ctx @ w[f"{p}.self_attn.o_proj.weight"].T
        m = rms_norm(x, w[f"{p}.post_attention_layernorm.weight"], c["rmsNormEps"])
        g = m @ w[f"{p}.mlp.gate_proj.weight"].T
        u = m @ w[f"{p}.mlp.up_proj.weight"].T
        x = x + (torch.nn.functional.silu(g) * u) @ w[f"{p}.mlp.down_proj.weight"].T
    L = prompt.shape[0]
    hid = rms_norm(x[:, L:], w["model.norm.weight"], c["rmsNormEps"])
    head = w["model.embed_tokens.weight" if c["tieWordEmbeddings"] else "lm_head.weight"]
    return hid @ head.T


def loss_fn(logits, targets, mask):
    logp = logits.float().log_softmax(-1) if logits.dtype == torch.float16 else logits.log_softmax(-1)
    nll = -logp.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (nll * mask).sum() / mask.sum().clamp(min=1)


def main():
    req = json.load(sys.stdin)
    torch.set_num_threads(req.get("threads", torch.get_num_threads()))
    dtype = torch.float64 if req.get("dtype") == "float64" else torch.float32
    c = req["config"]
    w = {k: v.to(dtype) for k, v in read_safetensors(req["weights"]).items()}
    for v in w.values():
        v.requires_grad_(False)
    b, t = req["shape"]
    ids = torch.tensor(req["ids"], dtype=torch.int64).view(b, t)
    targets = torch.tensor(req["targets"], dtype=torch.int64).view(b, t)
    mask = torch.tensor(req["mask"], dtype=dtype).view(b, t)
    L = req["prompt_length"]
    prompt = torch.tensor(req["prompt"], dtype=dtype).view(L, c["hiddenSize"]).requires_grad_(True)

    def step():
        prompt.grad = None
        loss = loss_fn(forward(c, w, prompt, ids), targets, mask)
        loss.backward()
        return loss

    result = {}
    bench = req.get("bench")
    if bench:
        for _ in range(bench["warmup"]):
            step()
        times = []
        for _ in range(bench["repeats"]):
            t0 = time.perf_counter()
            step()
            times.append((time.perf_counter() - t0) * 1000)
        result["step_ms"] = times
    loss = step()
    result["loss"] = loss.item()
    result["grad"] = prompt.grad.reshape(-1).tolist() if not bench else None
    result["grad_norm"] = prompt.grad.norm().item()
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result["torch"] = torch.__version__
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
