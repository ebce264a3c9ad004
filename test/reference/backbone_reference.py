"""PyTorch reference for ClinPrompt's backbone inference: loads a Hugging Face LLaMA-family folder
(config.json, model.safetensors or shards via model.safetensors.index.json, F32/F16/BF16) and runs
transformers' modeling_llama forward (RMSNorm, half-rotated RoPE with default/linear/llama3
scaling, grouped-query attention, SwiGLU, q/k/v biases for Qwen2, tied or untied lm_head) with a
KV cache, an optional soft prompt, padding mask and LoRA updates (y += scaling (x A^T) B^T) for
the training reference (train_reference.py). Written independently of the TypeScript code; used by
the parity tests, `npm run bench:generate` and `npm run bench:train`. Not a runtime dependency.

Usage: python3 backbone_reference.py < request.json > result.json
request: {"dir": "<hf folder>", "mode": "logits", "ids": [[...], ...],
          "greedy": {"ids": [...], "max_tokens": n} (optional)}              -> {"logits": [[[...]]], "tokens": [...]}
         {"dir": ..., "mode": "generate", "ids": [...], "max_tokens": n,
          "repeats": r, "threads": t}                                             -> {"tokens": [...],
          "tokens_per_second": [...], "peak_rss_mb": float, "weights_mb": float}
"""
import json
import math
import os
import resource
import struct
import sys
import time

import numpy as np
import torch


def read_safetensors(path):
    """Reads one tensor at a time (seek + read of its range), so peak memory is the weights plus one tensor."""
    out = {}
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        for name, e in header.items():
            if name == "__metadata__":
                continue
            begin, end = e["data_offsets"]
            f.seek(8 + n + begin)
            raw = f.read(end - begin)
            if e["dtype"] == "BF16":
                arr = (np.frombuffer(raw, dtype=np.uint16).astype(np.uint32) << 16).view(np.float32)
            elif e["dtype"] == "F16":
                arr = np.frombuffer(raw, dtype=np.float16).astype(np.float32)
            else:
                arr = np.frombuffer(raw, dtype=np.float32).copy()
            out[name] = torch.from_numpy(arr.reshape(e["shape"]))
    return out


def load_folder(d):
    index = os.path.join(d, "model.safetensors.index.json")
    files = sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index) else ["model.safetensors"]
    w = {}
    for f in files:
        w.update(read_safetensors(os.path.join(d, f)))
    return json.load(open(os.path.join(d, "config.json"))), w


def inv_freq(cfg, head_dim):
    base = cfg.get("rope_theta", 10000.0)
    f = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    rs = cfg.get("rope_scaling") or {}
    kind = rs.get("rope_type", rs.get("type", "default"))
    if kind == "linear":
        f = f / rs["factor"]
    elif kind == "llama3":
        factor, lo, hi, old = rs["factor"], rs["low_freq_factor"], rs["high_freq_factor"], rs["original_max_position_embeddings"]
        wavelen = 2 * math.pi / f
        scaled = torch.where(wavelen > old / lo, f / factor, f)
        smooth = (old / wavelen - lo) / (hi - lo)
        smoothed = (1 - smooth) * scaled / factor + smooth * scaled
        medium = ~(wavelen < old / hi) * ~(wavelen > old / lo)
        f = torch.where(medium, smoothed, scaled)
    return f


def rms_norm(x, w, eps):
    return w * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps))


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat((-x[..., h:], x[..., :h]), dim=-1)


class Model:
    def __init__(self, d):
        self.cfg, self.w = load_folder(d)
        c = self.cfg
        self.d = c["hidden_size"]
        self.h = c["num_attention_heads"]
        self.kv = c.get("num_key_value_heads", self.h)
        self.hd = c.get("head_dim") or self.d // self.h
        self.eps = c.get("rms_norm_eps", 1e-6)
        self.layers = c["num_hidden_layers"]
        self.inv_freq = inv_freq(c, self.hd)
        # module name (e.g. "model.layers.0.self_attn.q_proj") -> (A (r, in), B (out, r), scaling)
        self.lora = {}

    def head(self):
        return self.w["model.embed_tokens.weight"] if self.cfg.get("tie_word_embeddings") else self.w["lm_head.weight"]

    def lin(self, x, name):
        y = x @ self.w[name + ".weight"].T
        b = self.w.get(name + ".bias")
        y = y if b is None else y + b
        lora = self.lora.get(name)
        if lora is not None:  # peft tuners/lora/layer.py Linear.forward, unmerged, no dropout
            a, b_, scaling = lora
            y = y + scaling * ((x @ a.T) @ b_.T)
        return y

    def forward(self, ids, cache, prompt=None, attention_mask=None):
        """ids (B, T) after `cache` (list of (k, v) per layer, or None), optionally after a soft prompt
        (L, d) and with an attention mask (B, T) of 1 for tokens, 0 for padding; returns logits
        (B, L + T, V), new cache."""
        B, T = ids.shape
        x = self.w["model.embed_tokens.weight"][ids]
        if prompt is not None:  # peft PeftModelForCausalLM: virtual tokens first, attended by all
            x = torch.cat((prompt.unsqueeze(0).expand(B, -1, -1).to(x.dtype), x), dim=1)
            if attention_mask is not None:
                attention_mask = torch.cat((torch.ones(B, prompt.shape[0], dtype=attention_mask.dtype), attention_mask), 1)
            T = x.shape[1]
        past = 0 if cache is None else cache[0][0].shape[2]
        pos = torch.arange(past, past + T).float()
        freqs = pos[:, None] * self.inv_freq[None, :]
        emb = torch.cat((freqs, freqs), dim=-1)
        cos, sin = emb.cos().to(x.dtype), emb.sin().to(x.dtype)
        mask = torch.full((T, past + T), float("-inf"), dtype=x.dtype).triu(past + 1)
        if attention_mask is not None:  # transformers: padded keys get the dtype's minimum
            padded = (attention_mask == 0)[:, None, None, :]
            mask = torch.where(padded, torch.finfo(x.dtype).min, mask)
        new_cache = []
        for i in range(self.layers):
            p = f"model.layers.{i}."
            hn = rms_norm(x, self.w[p + "input_layernorm.weight"], self.eps)
            q = self.lin(hn, p + "self_attn.q_proj").view(B, T, self.h, self.hd).transpose(1, 2)
            k = self.lin(hn, p + "self_attn.k_proj").view(B, T, self.kv, self.hd).transpose(1, 2)
            v = self.lin(hn, p + "self_attn.v_proj").view(B, T, self.kv, self.hd).transpose(1, 2)
            q = q * cos + rotate_half(q) * sin
            k = k * cos + rotate_half(k) * sin
            if cache is not None:
                k = torch.cat((cache[i][0], k), dim=2)
                v = torch.cat((cache[i][1], v), dim=2)
            new_cache.append((k, v))
            rep = self.h // self.kv
            kr = k.repeat_interleave(rep, dim=1)
            vr = v.repeat_interleave(rep, dim=1)
            att = (q @ kr.transpose(-1, -2)) / math.sqrt(self.hd) + mask
            o = (att.softmax(-1) @ vr).transpose(1, 2).reshape(B, T, self.h * self.hd)
            x = x + self.lin(o, p + "self_attn.o_proj")
            hm = rms_norm(x, self.w[p + "post_attention_layernorm.weight"], self.eps)
            g = self.lin(hm, p + "mlp.gate_proj")
            x = x + self.lin(torch.nn.functional.silu(g) * self.lin(hm, p + "mlp.up_proj"), p + "mlp.down_proj")
        x = rms_norm(x, self.w["model.norm.weight"], self.eps)
        return x @ self.head().T, new_cache


def greedy(model, ids, n):
    logits, cache = model.forward(torch.tensor([ids]), None)
    tokens = [int(logits[0, -1].argmax())]
    while len(tokens) < n:
        logits, cache = model.forward(torch.tensor([[tokens[-1]]]), cache)
        tokens.append(int(logits[0, -1].argmax()))
    return tokens


def main():
    req = json.load(sys.stdin)
    if req.get("threads"):
        torch.set_num_threads(req["threads"])
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    model = Model(req["dir"])
    weights_mb = sum(t.numel() * t.element_size() for t in model.w.values()) / 2**20
    with torch.no_grad():
        if req["mode"] == "logits":
            out = {"logits": [model.forward(torch.tensor([ids]), None)[0][0].tolist() for ids in req["ids"]]}
            if "greedy" in req:  # also a greedy continuation, to save a second process start
                out["tokens"] = greedy(model, req["greedy"]["ids"], req["greedy"]["max_tokens"])
            json.dump(out, sys.stdout)
            return
        tps = []
        tokens = []
        for _ in range(req.get("repeats", 1)):
            t0 = time.perf_counter()
            logits, cache = model.forward(torch.tensor([req["ids"]]), None)
            t1 = time.perf_counter()
            tokens = [int(logits[0, -1].argmax())]
            while len(tokens) < req["max_tokens"]:
                logits, cache = model.forward(torch.tensor([[tokens[-1]]]), cache)
                tokens.append(int(logits[0, -1].argmax()))
            t2 = time.perf_counter()  # the loop is greedy() inlined, to time prefill and decode apart
            tps.append((len(tokens) - 1) / (t2 - t1))
    json.dump(
        {
            "tokens": tokens,
            "tokens_per_second": tps,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "rss_before_load_mb": rss_before,
            "weights_mb": weights_mb,
        },
        sys.stdout,
    )


if __name__ == "__main__":
    main()
