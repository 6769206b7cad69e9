"""The PyTorch peer of bench/train_step.ts: one training step (forward, backward, AdamW) of the
koclip-emoji model written in PyTorch eager the way Hugging Face's VisionTextDualEncoderModel
runs it (CLIP vision tower, pre-LayerNorm; RoBERTa text tower, post-LayerNorm, tanh pooler;
bias-free projections; symmetric contrastive loss with soft targets, as koclip's multi-positive
loss), on the token ids, mask and pixel shape koclip's step uses. Debian's python3-torch.

usage: python3 train_peer.py ARGS.json   (prints {"fp32": pairs/s, "bf16": pairs/s, "version": ...})
ARGS: config (config.json path), ids and mask ([B][L] lists), image_size, threads, min_seconds, amps
"""
import json
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

args = json.load(open(sys.argv[1]))
cfg = json.load(open(args["config"]))
V, T = cfg["vision_config"], cfg["text_config"]
torch.set_num_threads(args["threads"])
torch.manual_seed(0)


class Attention(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.heads = heads
        self.q, self.k, self.v, self.out = (nn.Linear(d, d) for _ in range(4))

    def forward(self, x, bias=None):
        b, n, d = x.shape
        split = lambda t: t.view(b, n, self.heads, d // self.heads).transpose(1, 2)
        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        scores = (q @ k.transpose(-1, -2)) * (d // self.heads) ** -0.5
        if bias is not None:
            scores = scores + bias
        return self.out((scores.softmax(-1) @ v).transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    """A transformer layer: pre-LayerNorm (CLIP) or post-LayerNorm (RoBERTa)."""

    def __init__(self, c, pre_norm):
        super().__init__()
        d, eps = c["hidden_size"], c.get("layer_norm_eps", 1e-5)
        self.pre_norm = pre_norm
        self.attn = Attention(d, c["num_attention_heads"])
        self.ln1, self.ln2 = nn.LayerNorm(d, eps=eps), nn.LayerNorm(d, eps=eps)
        self.fc1, self.fc2 = nn.Linear(d, c["intermediate_size"]), nn.Linear(c["intermediate_size"], d)

    def forward(self, x, bias=None):
        if self.pre_norm:
            x = x + self.attn(self.ln1(x), bias)
            return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))
        x = self.ln1(x + self.attn(x, bias))
        return self.ln2(x + self.fc2(F.gelu(self.fc1(x))))


class Vision(nn.Module):
    def __init__(self, c):
        super().__init__()
        d, p = c["hidden_size"], c["patch_size"]
        self.patch = nn.Conv2d(3, d, p, stride=p, bias=False)
        self.cls = nn.Parameter(torch.randn(d) * 0.02)
        self.pos = nn.Embedding((c["image_size"] // p) ** 2 + 1, d)
        self.pre_ln, self.post_ln = nn.LayerNorm(d, eps=1e-5), nn.LayerNorm(d, eps=1e-5)
        self.layers = nn.ModuleList(Block(c, True) for _ in range(c["num_hidden_layers"]))

    def forward(self, px):
        x = self.patch(px).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], 1, -1), x], 1) + self.pos.weight
        x = self.pre_ln(x)
        for layer in self.layers:
            x = layer(x)
        return self.post_ln(x[:, 0])


class Text(nn.Module):
    def __init__(self, c):
        super().__init__()
        d = c["hidden_size"]
        self.pad = c["pad_token_id"]
        self.word = nn.Embedding(c["vocab_size"], d, padding_idx=self.pad)
        self.pos = nn.Embedding(c["max_position_embeddings"], d, padding_idx=self.pad)
        self.token_type = nn.Embedding(c["type_vocab_size"], d)
        self.ln = nn.LayerNorm(d, eps=c.get("layer_norm_eps", 1e-5))
        self.layers = nn.ModuleList(Block(c, False) for _ in range(c["num_hidden_layers"]))
        self.pooler = nn.Linear(d, d)

    def forward(self, ids, mask):
        positions = torch.cumsum(mask, 1) * mask + self.pad  # RoBERTa's position ids
        x = self.ln(self.word(ids) + self.pos(positions) + self.token_type.weight[0])
        bias = (1.0 - mask[:, None, None, :].to(x.dtype)) * torch.finfo(x.dtype).min
        for layer in self.layers:
            x = layer(x, bias)
        return torch.tanh(self.pooler(x[:, 0]))


class DualEncoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.vision, self.text = Vision(V), Text(T)
        dim = cfg["projection_dim"]
        self.visual_projection = nn.Linear(V["hidden_size"], dim, bias=False)
        self.text_projection = nn.Linear(T["hidden_size"], dim, bias=False)
        self.logit_scale = nn.Parameter(torch.tensor(cfg["logit_scale_init_value"]))

    def loss(self, px, ids, mask, targets):
        image = F.normalize(self.visual_projection(self.vision(px)), dim=-1).float()
        text = F.normalize(self.text_projection(self.text(ids, mask)), dim=-1).float()
        logits = image @ text.t() * self.logit_scale.exp()
        ce = lambda l: -(l.log_softmax(-1) * targets).sum(1).mean()
        return (ce(logits) + ce(logits.t())) / 2


model = DualEncoder()
# Weight decay on matrices and embeddings, none on biases, norms and the logit scale (koclip's decayGroups).
decay = [p for p in model.parameters() if p.ndim >= 2]
rest = [p for p in model.parameters() if p.ndim < 2]
opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.1}, {"params": rest, "weight_decay": 0.0}], lr=1e-4)
ids = torch.tensor(args["ids"], dtype=torch.int64)
mask = torch.tensor(args["mask"], dtype=torch.int64)
batch = ids.shape[0]
px = torch.randn(batch, 3, args["image_size"], args["image_size"])
targets = torch.eye(batch)


def step(amp):
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp == "bf16"):
        loss = model.loss(px, ids, mask, targets)
    loss.backward()
    opt.step()
    opt.zero_grad()


out = {"version": torch.__version__}
for amp in args["amps"]:
    step(amp)
    step(amp)
    steps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < args["min_seconds"] or steps < 2:
        step(amp)
        steps += 1
    out[amp] = batch * steps / (time.perf_counter() - t0)
print(json.dumps(out))
