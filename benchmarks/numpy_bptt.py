"""Hand-written numpy BPTT: the reference that microgradrnn is measured against.

Written as lean as a careful engineer would write it for speed, so that it does not
flatter the engine: every buffer (hidden states, gates, gradients, the parameters
themselves) is allocated once and reused, nothing is copied that need not be, the input
projection of all T steps is one matmul, the output head and the loss run once over the
stacked hidden states, step 0 skips its product with h_0 = 0, and the backward pass is
the textbook BPTT recurrence with as few numpy calls per step as it needs. The
activations are numpy's own (``np.tanh``; sigmoid as (tanh(z/2) + 1) / 2): on the CPUs
measured (``benchmarks/kernels.py``, README "Kernel measurements") np.tanh is faster
than any exp form, and the reference does not depend on what the engine chose. The
parameters live in one flat array (each named one a view of it), so the SGD update is
one pass. Parameters use PyTorch's layout and names (``weight_ih`` is (gates * hidden,
input), LSTM gates ordered i, f, g, o, GRU gates r, z, n).

    model = NumpyRNN(params, T, B, loss="cross_entropy")
    loss = model.step(X, target, lr)        # forward + loss + backward + SGD, in place
    loss, grads = model.loss_and_grads(X, target)   # no update (for tests)

X: (T, B, input) time-major, h_0 = 0. target: (T, B) class indices for
"cross_entropy" (mean over T*B), or (T, B, output) for "mse" (per-step mean over
B*output, summed over steps).
"""

from __future__ import annotations

import numpy as np

PARAM_NAMES = ("weight_ih", "bias_ih", "weight_hh", "bias_hh", "head_weight", "head_bias")


def _flat_views(shapes: dict[str, tuple], dtype) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """One flat buffer and a C-contiguous view of it per name, in ``shapes``' order."""
    flat = np.empty(sum(int(np.prod(s)) for s in shapes.values()), dtype)
    views, start = {}, 0
    for name, shape in shapes.items():
        n = int(np.prod(shape))
        views[name] = flat[start: start + n].reshape(shape)
        start += n
    return flat, views


class _Base:
    """Buffers, the head + loss, the weights' gradients and the update, shared by the tanh
    RNN, the LSTM and the GRU. ``gates`` is the number of H-blocks of the weights."""

    gates = 1

    def __init__(self, params: dict[str, np.ndarray], T: int, B: int, loss: str) -> None:
        if loss not in ("cross_entropy", "mse"):
            raise ValueError(f"numpy_bptt: loss must be 'cross_entropy' or 'mse', got {loss!r}")
        self.T, self.B, self.loss = T, B, loss
        self.H, self.O = params["weight_hh"].shape[1], params["head_weight"].shape[0]
        H, n_out, G = self.H, self.O, self.gates * self.H
        dt = self.dt = params["weight_hh"].dtype
        shapes = {k: params[k].shape for k in PARAM_NAMES}
        self._flat, self.p = _flat_views(shapes, dt)  # updated in place by step()
        for k in PARAM_NAMES:
            self.p[k][...] = params[k]
        self._gflat, self.g = _flat_views(shapes, dt)
        self.Y = np.empty((T * B, n_out), dt)  # logits / predictions, then dL/dY
        self.dH = np.empty((T * B, H), dt)  # dL/dh_t from the head, all steps
        self.hs = np.zeros((T + 1, B, H), dt)  # hs[0] = h_0 = 0, hs[t] = h_t
        self.A = np.empty((T, B, G), dt)  # pre-activations, then activations, then grads
        self.tmp = np.empty((B, G), dt)  # one step's recurrent product
        self.dh = np.empty((B, H), dt)
        # per-step views, made once: indexing a numpy array costs as much as a small op
        self._h, self._a = list(self.hs), list(self.A)
        self._dH = list(self.dH.reshape(T, B, H))
        if loss == "cross_entropy":
            self._rows = np.arange(T * B)
            self._rowstat = np.empty((T * B, 1), dt)

    def _project(self, X2: np.ndarray, bias: np.ndarray) -> None:
        """A <- X W_ih^T + bias for all T steps in one matmul."""
        np.dot(X2, self.p["weight_ih"].T, out=self.A.reshape(self.T * self.B, -1))
        self.A += bias

    def _head_loss(self, target: np.ndarray) -> float:
        """Head over all steps at once; leaves dL/dY in self.Y and dL/dh in self.dH."""
        p, g, Y = self.p, self.g, self.Y
        Hs = self.hs[1:].reshape(-1, self.H)
        np.dot(Hs, p["head_weight"].T, out=Y)
        Y += p["head_bias"]
        if self.loss == "cross_entropy":
            n, m, rows, t = Y.shape[0], self._rowstat, self._rows, target.reshape(-1)
            np.max(Y, axis=1, keepdims=True, out=m)
            Y -= m
            np.exp(Y, out=Y)
            np.sum(Y, axis=1, keepdims=True, out=m)
            m *= n
            Y /= m  # softmax / n, which is dL/dlogits but for the one-hot
            loss = -np.log(Y[rows, t]).sum() / n - np.log(n)
            Y[rows, t] -= 1.0 / n
        else:  # mse: sum over steps of the mean over (B, O)
            Y -= target.reshape(Y.shape)
            scale = 1.0 / (self.B * self.O)
            loss = float(np.dot(Y.ravel(), Y.ravel())) * scale
            Y *= 2.0 * scale
        np.dot(Y.T, Hs, out=g["head_weight"])
        np.sum(Y, axis=0, out=g["head_bias"])
        np.dot(Y, p["head_weight"], out=self.dH)
        return float(loss)

    def _weight_grads(self, X2: np.ndarray, dZ: np.ndarray, dZh: np.ndarray | None = None
                      ) -> None:
        """The recurrent weights' gradients from dL/d(pre-activation) of all T steps at
        once: one matmul each, K = T*B (K = (T-1)*B for W_hh: h_0 = 0).

        dZ (T, B, G) is the gradient of x W_ih^T + b_ih, dZh that of h W_hh^T + b_hh
        where the two differ (the GRU's n block is r * (h W_hn^T + b_hn))."""
        g, TB = self.g, self.T * self.B
        np.dot(dZ.reshape(TB, -1).T, X2, out=g["weight_ih"])
        np.sum(dZ.reshape(TB, -1), axis=0, out=g["bias_ih"])
        if dZh is None:
            dZh = dZ
            g["bias_hh"][...] = g["bias_ih"]
        else:
            np.sum(dZh.reshape(TB, -1), axis=0, out=g["bias_hh"])
        rows = (self.T - 1) * self.B
        np.dot(dZh[1:].reshape(rows, -1).T, self.hs[1:-1].reshape(rows, -1),
               out=g["weight_hh"])

    def loss_and_grads(self, X: np.ndarray, target: np.ndarray):
        loss = self._forward_backward(X, target)
        return loss, {k: v.copy() for k, v in self.g.items()}

    def step(self, X: np.ndarray, target: np.ndarray, lr: float) -> float:
        loss = self._forward_backward(X, target)
        self._flat -= lr * self._gflat  # every parameter in one pass
        return loss


class NumpyRNN(_Base):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), y_t = W_y h_t + b_y."""

    def _forward_backward(self, X: np.ndarray, target: np.ndarray) -> float:
        p, T = self.p, self.T
        h, a, dH, dh, tmp = self._h, self._a, self._dH, self.dh, self.tmp
        W_hh, W_hh_T = p["weight_hh"], p["weight_hh"].T
        X2 = X.reshape(T * self.B, -1)
        self._project(X2, p["bias_ih"] + p["bias_hh"])
        np.tanh(a[0], out=h[1])
        for t in range(1, T):
            np.dot(h[t], W_hh_T, out=tmp)
            a[t] += tmp
            np.tanh(a[t], out=h[t + 1])
        loss = self._head_loss(target)
        # A <- 1 - h_t^2 for all steps (the pre-activations are no longer needed) ...
        A, Hs = self.A, self.hs[1:]
        np.multiply(Hs, Hs, out=A)
        np.subtract(1.0, A, out=A)
        # ... and then, step by step from the last, dz_t = (dH_t + dz_{t+1} W_hh) * A_t
        # in A_t's place
        np.multiply(a[T - 1], dH[T - 1], out=a[T - 1])
        for t in range(T - 2, -1, -1):
            np.dot(a[t + 1], W_hh, out=dh)
            dh += dH[t]
            np.multiply(a[t], dh, out=a[t])
        self._weight_grads(X2, self.A)
        return loss


class NumpyLSTM(_Base):
    """LSTM with PyTorch's gate order (i, f, g, o):

    i, f, o = sigmoid(.), g = tanh(.) of W_ih x_t + b_ih + W_hh h_{t-1} + b_hh,
    c_t = f c_{t-1} + i g, h_t = o tanh(c_t).

    All four gates take one np.tanh per step: sigmoid(z) = (tanh(z/2) + 1) / 2, so the
    i, f, o columns of the weights and biases are halved once per step (``_half``) and
    the tanh's output scaled back by ``_half`` and shifted by ``_shift``. The backward
    pass works step by step on data that stays in cache (computing its factors for all
    T steps at once first, as the GRU does, measured 5-10 % slower at L2's size).
    """

    gates = 4

    def __init__(self, params: dict[str, np.ndarray], T: int, B: int, loss: str) -> None:
        super().__init__(params, T, B, loss)
        H, dt = self.H, self.dt
        self._half = np.full(4 * H, 0.5, dt)
        self._half[2 * H: 3 * H] = 1.0
        self._shift = np.where(self._half == 0.5, 0.5, 0.0).astype(dt)
        self._W_half = np.empty((4 * H, H), dt)  # W_hh with its i, f, o rows halved
        self.cs = np.zeros((T + 1, B, H), dt)
        self.tcs = np.empty((T, B, H), dt)  # tanh(c_t)
        self.dc = np.empty((B, H), dt)
        self.tmpH = np.empty((B, H), dt)
        self._c, self._tc = list(self.cs), list(self.tcs)

    def _forward_backward(self, X: np.ndarray, target: np.ndarray) -> float:
        p, T, H = self.p, self.T, self.H
        h, c, tc, a, dH = self._h, self._c, self._tc, self._a, self._dH
        tmp, tmpH, half, shift = self.tmp, self.tmpH, self._half, self._shift
        X2 = X.reshape(T * self.B, -1)
        self._project(X2, p["bias_ih"] + p["bias_hh"])
        self.A *= half
        W_T = np.multiply(p["weight_hh"], half[:, None], out=self._W_half).T
        for t in range(T):
            at = a[t]
            if t:
                np.dot(h[t], W_T, out=tmp)
                at += tmp
            np.tanh(at, out=at)
            at *= half
            at += shift
            i, f, g, o = at[:, :H], at[:, H: 2 * H], at[:, 2 * H: 3 * H], at[:, 3 * H:]
            np.multiply(f, c[t], out=c[t + 1])
            np.multiply(i, g, out=tmpH)
            c[t + 1] += tmpH
            np.tanh(c[t + 1], out=tc[t])
            np.multiply(o, tc[t], out=h[t + 1])
        loss = self._head_loss(target)
        dh, dc, W_hh = self.dh, self.dc, p["weight_hh"]
        dc[...] = 0.0
        for t in range(T - 1, -1, -1):
            at = a[t]  # activated gates; overwritten below by d(pre-activation)
            i, f, g, o = at[:, :H], at[:, H: 2 * H], at[:, 2 * H: 3 * H], at[:, 3 * H:]
            tct = tc[t]
            if t == T - 1:
                dh[...] = dH[t]
            else:
                np.dot(a[t + 1], W_hh, out=dh)
                dh += dH[t]
            # dc_t += dh o (1 - tanh^2 c_t)
            np.multiply(tct, tct, out=tmpH)
            np.subtract(1.0, tmpH, out=tmpH)
            tmpH *= o
            tmpH *= dh
            dc += tmpH
            # do = dh tanh(c_t) o (1 - o), in o's place
            np.multiply(dh, tct, out=tmpH)
            tmpH *= o
            np.subtract(1.0, o, out=o)
            o *= tmpH
            # dg = dc i (1 - g^2) and di = dc g i (1 - i), each in its gate's place
            np.multiply(g, dc, out=tmpH)  # dc g, for di
            g *= g
            np.subtract(1.0, g, out=g)
            g *= i
            g *= dc
            tmpH *= i
            np.subtract(1.0, i, out=i)
            i *= tmpH
            # df = dc c_{t-1} f (1 - f), in f's place; dc_{t-1} = dc f
            np.multiply(dc, c[t], out=tmpH)
            tmpH *= f
            dc *= f
            np.subtract(1.0, f, out=f)
            f *= tmpH
        self._weight_grads(X2, self.A)
        return loss


class NumpyGRU(_Base):
    """GRU with PyTorch's gate order (r, z, n):

    [gi_r, gi_z, gi_n] = W_ih x_t + b_ih,  [gh_r, gh_z, gh_n] = W_hh h_{t-1} + b_hh,
    r = sigmoid(gi_r + gh_r),  z = sigmoid(gi_z + gh_z),  n = tanh(gi_n + r gh_n),
    h_t = (1 - z) n + z h_{t-1}, computed as n + z (h_{t-1} - n).

    Sigmoid is (tanh(z/2) + 1) / 2: the r and z columns of W_ih x + b_ih + [b_hr, b_hz]
    are halved once for all steps, and gh_r, gh_z once per step. As in the LSTM, the
    backward pass first computes the factors that do not depend on the gradient flowing
    back, for all T steps at once, so that a step is six calls.
    """

    gates = 3

    def __init__(self, params: dict[str, np.ndarray], T: int, B: int, loss: str) -> None:
        super().__init__(params, T, B, loss)
        H, dt = self.H, self.dt
        self.ghn = np.empty((T, B, H), dt)  # gh_n = W_hn h_{t-1} + b_hn, kept for dr
        self.dgh = np.empty((T, B, 3 * H), dt)  # d(gh), first as d(gh)_t / dh_t
        self.zs = np.empty((T, B, H), dt)  # z_t, for h_{t-1}'s direct share dh_t z_t
        self.tmpH = np.empty((B, H), dt)
        self.dhz = np.empty((B, H), dt)
        self._ghn, self._z = list(self.ghn), list(self.zs)
        self._a3 = list(self.A.reshape(T, B, 3, H))
        self._dgh, self._dgh3 = list(self.dgh), list(self.dgh.reshape(T, B, 3, H))

    def _forward_backward(self, X: np.ndarray, target: np.ndarray) -> float:
        p, T, H = self.p, self.T, self.H
        h, a, dH, ghn, gh, tmpH = self._h, self._a, self._dH, self._ghn, self.tmp, self.tmpH
        X2 = X.reshape(T * self.B, -1)
        # the input projection of all steps, with the biases that may join it: b_hn is
        # multiplied by r, so only b_ih + [b_hr, b_hz, 0]
        b = p["bias_ih"] + p["bias_hh"]
        b[2 * H:] = p["bias_ih"][2 * H:]
        self._project(X2, b)
        self.A[:, :, :2 * H] *= 0.5
        W_hh, W_hh_T, b_hn = p["weight_hh"], p["weight_hh"].T, p["bias_hh"][2 * H:]
        for t in range(T):
            at = a[t]
            rz, n = at[:, :2 * H], at[:, 2 * H:]
            if t:
                np.dot(h[t], W_hh_T, out=gh)
                np.add(gh[:, 2 * H:], b_hn, out=ghn[t])
                gh_rz = gh[:, :2 * H]
                gh_rz *= 0.5
                rz += gh_rz
            else:
                ghn[t][...] = b_hn
            np.tanh(rz, out=rz)  # r and z: one tanh over both, then (u + 1) / 2
            rz *= 0.5
            rz += 0.5
            np.multiply(at[:, :H], ghn[t], out=tmpH)
            n += tmpH
            np.tanh(n, out=n)
            np.subtract(h[t], n, out=h[t + 1])
            h[t + 1] *= at[:, H: 2 * H]
            h[t + 1] += n
        loss = self._head_loss(target)
        # d(gi)_t = dh_t (Er, Ez, En) and d(gh)_t = dh_t (Er, Ez, En r), where
        # En = (1 - z)(1 - n^2), Ez = (h_{t-1} - n) z (1 - z), Er = En gh_n r (1 - r);
        # computed into dgh, then A (which holds r, z, n) takes (Er, Ez, En)
        A, D, Z = self.A, self.dgh, self.zs
        r, z, n = A[..., :H], A[..., H: 2 * H], A[..., 2 * H:]
        Dr, Dz, Dn = D[..., :H], D[..., H: 2 * H], D[..., 2 * H:]
        Z[...] = z
        np.subtract(self.hs[:-1], n, out=Dz)
        Dz *= z
        np.subtract(1.0, z, out=z)  # z's place now holds 1 - z
        Dz *= z
        n *= n
        np.subtract(1.0, n, out=n)
        n *= z  # n's place now holds En
        np.multiply(n, r, out=Dn)
        np.multiply(n, self.ghn, out=Dr)
        Dr *= r
        np.subtract(1.0, r, out=r)
        Dr *= r
        A[..., :2 * H] = D[..., :2 * H]
        dh, dhz, a3, d, d3, zt = self.dh, self.dhz, self._a3, self._dgh, self._dgh3, self._z
        for t in range(T - 1, -1, -1):
            if t == T - 1:
                dh[...] = dH[t]
            else:
                np.dot(d[t + 1], W_hh, out=dh)
                dh += dhz  # h_t's direct share in h_{t+1}
                dh += dH[t]
            dh3 = dh[:, None, :]
            np.multiply(a3[t], dh3, out=a3[t])  # d(gi)_t
            np.multiply(d3[t], dh3, out=d3[t])  # d(gh)_t
            np.multiply(dh, zt[t], out=dhz)
        self._weight_grads(X2, self.A, self.dgh)
        return loss
