"""A character-level LSTM language model, trained on microgradrnn's own source code.

Given the characters so far it predicts the next one: with e_t = Embedding(char_t),

    (h_t, c_t) = LSTM(e_t, (h_{t-1}, c_{t-1})),   y_t = W_hy h_t + b,
    L_t = -log softmax(y_t)[char_{t+1}],   loss = mean of L_t over the chunk and batch.

The corpus is the package's own ``.py`` files (``data.source_corpus()``; nothing is
downloaded), cut into ``BATCH`` parallel streams. Training is min-char-rnn's *chunked
truncated BPTT*: run K steps, backpropagate, update, then carry the state (h, c) into the
next chunk with ``nn.detach_state`` so its values flow on but no gradient crosses the cut.
The gradient is clipped to norm ``CLIP`` before each Adam step.

The loss to beat is the unigram entropy H = -sum_c p(c) log p(c) of the character
frequencies: what a model that ignores context gets. Everything below it is context the
LSTM has learned to use. The last tenth of the text is held out to check it did not just
memorise. At the end it writes text at two temperatures (0.5: cautious, 1.0: the model's
own distribution).
"""

from __future__ import annotations

# isort: off
# _common comes first: it configures numpy before numpy loads.
from _common import Timer, parse_args, pyplot, reached, save_figure, train
# isort: on
import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from microgradrnn import Tensor, nn, no_grad, optim
from microgradrnn import functional as F
from microgradrnn.datasets import CharVocab, source_corpus

BATCH, K, CLIP = 16, 32, 1.0  # parallel streams, truncation length, max gradient norm
OUTPUTS = ("char_rnn_loss.png",)  # what it writes into --out
MARGIN = 0.5  # nats: the loss must end at least this far below the unigram entropy


class CharLSTM(nn.Module):
    """Embedding -> LSTM -> Linear. ids: (T, B) ints -> logits (T, B, vocab), state."""

    def __init__(self, vocab: int, embed: int, hidden: int, rng: np.random.Generator) -> None:
        self.embed = nn.Embedding(vocab, embed, rng=rng)
        self.lstm = nn.LSTM(embed, hidden, rng=rng)
        self.head = nn.Linear(hidden, vocab, rng=rng)

    def forward(self, ids: np.ndarray, state: object = None) -> tuple[Tensor, object]:
        out, state = self.lstm(self.embed(ids), state)
        return self.head(out), state


def streams(ids: np.ndarray, batch: int) -> np.ndarray:
    """Cut a 1-d id sequence into ``batch`` contiguous streams: shape (T, batch)."""
    T = len(ids) // batch
    return ids[: T * batch].reshape(batch, T).T


def evaluate(model: CharLSTM, ids: np.ndarray) -> float:
    """Mean next-character loss (nats) over ``ids``, read as BATCH streams, no graph."""
    data = streams(ids, BATCH)
    total, count, state = 0.0, 0, None
    with no_grad():
        for s in range(0, len(data) - 1, 4 * K):
            chunk = data[s: s + 4 * K + 1]
            logits, state = model(chunk[:-1], state)
            total += F.cross_entropy(logits, chunk[1:], reduction="sum").item()
            count += chunk[1:].size
    return total / count


def sample(
    model: CharLSTM, vocab: CharVocab, prompt: str, n: int, temperature: float,
    rng: np.random.Generator,
) -> str:
    """Feed ``prompt``, then draw ``n`` characters from softmax(y_t / temperature)."""
    ids = list(vocab.encode(prompt))
    with no_grad():
        logits, state = model(np.array(ids).reshape(-1, 1))
        for _ in range(n):
            p = F.softmax(logits[-1, 0] / temperature).numpy()
            ids.append(int(rng.choice(len(p), p=p / p.sum())))
            logits, state = model(np.array([[ids[-1]]]), state)
    return vocab.decode(np.array(ids))


def plot(losses: list[float], entropy: float, out: Path) -> None:
    """The training loss per chunk, against the unigram entropy."""
    plt = pyplot()
    if plt is None:
        return
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(losses, lw=0.8, label="training loss (per chunk)")
    ax.axhline(entropy, color="k", ls="--", label=f"unigram entropy {entropy:.2f}")
    ax.set_xlabel("update")
    ax.set_ylabel("nats per character")
    ax.legend()
    save_figure(fig, out, OUTPUTS[0])


def main(argv: Sequence[str] | None = None) -> dict:
    """Train, report losses against the unigram entropy, sample; return the numbers."""
    args = parse_args(__doc__, argv, OUTPUTS)
    rng = np.random.default_rng(args.seed)
    text = source_corpus()
    vocab = CharVocab(text)
    if args.fast:
        text = text[:24_000]
    ids = vocab.encode(text)
    split = len(ids) * 9 // 10
    train_ids, held_ids = ids[:split], ids[split:]
    entropy = vocab.unigram_entropy(train_ids)
    hidden, updates = (48, 160) if args.fast else (96, 1000)
    data = streams(train_ids, BATCH)
    chunks = max(1, (len(data) - 1) // K)
    print(f"char-rnn: {len(text):,} characters of microgradrnn's source, {len(vocab)} "
          f"symbols; LSTM hidden {hidden}; {updates} updates of {BATCH} x {K} characters "
          f"(chunked truncated BPTT, K = {K}), Adam, clip {CLIP}")
    print(f"unigram entropy of the training text: {entropy:.3f} nats/char")
    model = CharLSTM(len(vocab), 32, hidden, rng)
    params = model.parameters()
    opt = optim.Adam(params, lr=0.01)
    starts = itertools.cycle(range(0, chunks * K, K))  # chunk after chunk, pass after pass
    state: object = None

    def step() -> float:
        nonlocal state
        s = next(starts)
        if s == 0:
            state = None  # each pass over the text starts from zeros
        chunk = data[s: s + K + 1]  # K inputs and, shifted by one, their K targets
        logits, state = model(chunk[:-1], state)
        loss = F.cross_entropy(logits, chunk[1:])
        opt.zero_grad()
        loss.backward()
        optim.clip_grad_norm_(params, CLIP)
        opt.step()
        state = nn.detach_state(state)  # the cut: carry the values, not the graph
        return loss.item()

    with Timer() as timer:
        losses = train(step, updates, "char-rnn")
    final = float(np.mean(losses[-20:]))
    held = evaluate(model, held_ids)
    print(f"loss {losses[0]:.3f} -> {final:.3f} (training, last 20 updates), "
          f"{held:.3f} on the held-out tenth; {timer.seconds:.1f} s")
    samples = {}
    for temperature in (0.5, 1.0):
        samples[temperature] = sample(model, vocab, "def ", 160 if args.fast else 300,
                                      temperature, rng)
        print(f"--- sample at temperature {temperature} ---\n{samples[temperature]}\n---")
    plot(losses, entropy, args.out)
    line = reached("training loss", f"{final:.3f} nats/char",
                   f"< unigram entropy {entropy:.3f} - {MARGIN}", final < entropy - MARGIN)
    print(line)
    return {"final_loss": final, "held_out_loss": held, "first_loss": losses[0],
            "unigram_entropy": entropy, "margin": MARGIN, "samples": samples,
            "seconds": timer.seconds, "summary": line}


if __name__ == "__main__":
    main()
