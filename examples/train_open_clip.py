"""Train an open_clip model on WebDataset shards balanced online by metacurate.

    python examples/train_open_clip.py --workdir WORK --shards 'shards/{00000..00009}.tar' \
        --t 20000 --epochs 2 --steps 100 --batch-size 256 --workers 8

``WORK`` is the ``metacurate match`` work directory of the pool the shards were downloaded from
(its side-cars, or only ``entry_counts.parquet`` plus the matcher index with
``--matches caption``). Every epoch ``k`` trains on the samples that
``metacurate balance WORK --t T --seed S --epoch k`` keeps offline: the head entries rotate from
epoch to epoch, the tail stays. The model here is a tiny CLIP (random init, 32x32 images, a
one-layer text and image tower) so that the example runs on a laptop CPU in seconds; use any
open_clip model name (``--model ViT-B-32``) for real training.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import DataLoader

TINY_CONFIG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def tiny_model_name() -> str:
    """Register the tiny config with open_clip (a model config file, as open_clip's own)."""
    import open_clip

    folder = Path(tempfile.mkdtemp(prefix="metacurate-open-clip-"))
    (folder / "metacurate-tiny.json").write_text(json.dumps(TINY_CONFIG))
    open_clip.add_model_config(folder)
    return "metacurate-tiny"


class ToPair:
    """A kept WebDataset sample to ``(image tensor, token ids, key)`` (picklable, for workers)."""

    def __init__(self, preprocess: Any, tokenizer: Any) -> None:
        self.preprocess = preprocess
        self.tokenizer = tokenizer

    def __call__(self, sample: dict) -> tuple[torch.Tensor, torch.Tensor, str]:
        from PIL import Image

        image = Image.open(io.BytesIO(sample["jpg"])).convert("RGB")
        caption = sample["txt"].decode("utf-8") if "txt" in sample else ""
        return self.preprocess(image), self.tokenizer([caption])[0], sample["__key__"]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workdir", required=True, help="metacurate match work directory")
    ap.add_argument("--shards", required=True, help="WebDataset shards, brace notation or list")
    ap.add_argument("--t", type=float, default=20_000.0, help="balancing threshold")
    ap.add_argument("--seed", type=int, default=0, help="the curation seed")
    ap.add_argument("--matches", choices=["auto", "sidecar", "caption"], default="auto")
    ap.add_argument("--model", default=None, help="open_clip model name (default: tiny)")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--steps", type=int, default=5, help="optimizer steps per epoch (at most)")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2, help="DataLoader worker processes")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--log-dir", default=None, help="per-epoch records of kept samples")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    """Train; returns per-epoch keys trained on, losses and the balancer's numbers."""
    import open_clip
    import webdataset as wds

    from metacurate.online import OnlineBalancer, OnlineDataset

    args = parse_args(argv)
    torch.manual_seed(args.seed)
    name = args.model or tiny_model_name()
    model, preprocess, _ = open_clip.create_model_and_transforms(name, pretrained=None)
    tokenizer = open_clip.get_tokenizer(name)
    loss_fn = open_clip.ClipLoss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr)

    balancer = OnlineBalancer(
        args.workdir, t=args.t, seed=args.seed, matches=args.matches, log_dir=args.log_dir
    )
    shards = wds.shardlists.expand_urls(args.shards) if "{" in args.shards else args.shards.split()
    dataset = OnlineDataset(shards, balancer, transform=ToPair(preprocess, tokenizer))
    result: dict = {"t": balancer.t, "epochs": {}}
    if balancer.matches == "sidecar":  # what open_clip calls --train-num-samples
        result["expected_per_epoch"] = balancer.expected_size()
        print(f"expected samples per epoch: {result['expected_per_epoch']:.1f}")
    model.train()
    for epoch in range(args.epochs):
        dataset.set_epoch(epoch)
        loader = DataLoader(dataset, batch_size=args.batch_size, num_workers=args.workers)
        keys, losses, started = [], [], time.perf_counter()
        for step, (images, texts, batch_keys) in enumerate(loader):
            if step == args.steps:
                break
            image_features, text_features, logit_scale = model(images, texts)
            loss = loss_fn(image_features, text_features, logit_scale)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            keys.extend(batch_keys)
            losses.append(float(loss.detach()))
            print(f"epoch {epoch} step {step}: loss {losses[-1]:.4f}")
        result["epochs"][epoch] = {
            "keys": keys,
            "losses": losses,
            "seconds": round(time.perf_counter() - started, 2),
        }
    return result


if __name__ == "__main__":
    main()
