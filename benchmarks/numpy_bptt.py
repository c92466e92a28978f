"""Hand-written numpy BPTT: the reference that microgradrnn is measured against.

Written the way a careful engineer would write it for speed: the input projection of
all T steps is one matmul, the output head and the loss run once over the stacked
hidden states, every buffer is allocated once per shape and reused between steps, and
the backward pass is the textbook BPTT recurrence. Parameters use PyTorch's layout and
names (``weight_ih`` is (gates * hidden, input), LSTM gates ordered i, f, g, o, GRU gates
r, z, n).

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


# The activations as the engine computes them (ops.sigmoid_into, ops.tanh_into): numpy's
# exp is vectorised and its float64 tanh is not, so sigmoid is 1 / (1 + e^-x) (e^-x
# clipped where it would overflow) and, on arrays of TANH_EXP_FROM elements or more,
# tanh is 2 sigmoid(2x) - 1, about twice as fast; smaller arrays, where that form's
# seven calls cost more than they save, use np.tanh. The same size as the engine's.
TANH_EXP_FROM = 1024
_EXP_LIMIT = {np.dtype(t): float(np.log(np.finfo(t).max)) - 1.0 for t in (np.float32, np.float64)}


def _sigmoid(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    np.negative(x, out=out)
    np.minimum(out, _EXP_LIMIT[out.dtype], out=out)
    np.exp(out, out=out)
    out += 1.0
    return np.reciprocal(out, out=out)


def _tanh(x: np.ndarray, out: np.ndarray) -> np.ndarray:
    if x.size < TANH_EXP_FROM:
        return np.tanh(x, out=out)
    np.multiply(x, 2.0, out=out)
    _sigmoid(out, out=out)
    out *= 2.0
    out -= 1.0
    return out


class _Base:
    """Buffers, the head + loss and the weights' gradients, shared by the tanh RNN, the
    LSTM and the GRU."""

    def __init__(self, params: dict[str, np.ndarray], T: int, B: int, loss: str) -> None:
        self.p = params  # updated in place by step()
        self.T, self.B, self.loss = T, B, loss
        self.H, self.O = params["weight_hh"].shape[1], params["head_weight"].shape[0]
        H, n_out = self.H, self.O
        dt = params["weight_hh"].dtype
        self.dt = dt
        self.Y = np.empty((T * B, n_out), dt)  # logits / predictions
        self.dH = np.empty((T * B, H), dt)  # dL/dh_t from the head, all steps
        self.dh = np.empty((B, H), dt)
        self.hs = np.zeros((T + 1, B, H), dt)  # hs[0] = h_0 = 0, hs[t] = h_t
        self.g = {k: np.empty_like(v) for k, v in params.items()}

    def _head_loss(self, Hs: np.ndarray, target: np.ndarray) -> float:
        """Head over all steps at once; leaves dL/dY in self.Y and dL/dh in self.dH."""
        p, Y = self.p, self.Y
        np.dot(Hs, p["head_weight"].T, out=Y)
        Y += p["head_bias"]
        if self.loss == "cross_entropy":
            n = Y.shape[0]
            Y -= Y.max(axis=1, keepdims=True)
            np.exp(Y, out=Y)
            s = Y.sum(axis=1, keepdims=True)
            Y /= s
            rows = np.arange(n)
            t = target.reshape(-1)
            loss = -np.log(Y[rows, t]).sum() / n
            Y[rows, t] -= 1.0  # dL/dlogits = (softmax - onehot) / n
            Y *= 1.0 / n
        else:  # mse: sum over steps of the mean over (B, O)
            Y -= target.reshape(Y.shape)
            loss = float(np.dot(Y.ravel(), Y.ravel())) / (self.B * self.O)
            Y *= 2.0 / (self.B * self.O)
        self.g["head_weight"][...] = Y.T @ Hs
        self.g["head_bias"][...] = Y.sum(axis=0)
        np.dot(Y, p["head_weight"], out=self.dH)
        return float(loss)

    def _weight_grads(self, dZ: np.ndarray, X2: np.ndarray, hs: np.ndarray,
                      dZh: np.ndarray | None = None) -> None:
        """The recurrent weights' gradients from dL/d(pre-activation) of all T steps at
        once (T*B rows): one matmul each, K = T*B, as BPTT is usually written.

        dZ is the gradient of x W_ih^T + b_ih, dZh that of h W_hh^T + b_hh where the two
        differ (the GRU's n block is r * (h W_hn^T + b_hn)); by default they are one."""
        g, rows = self.g, dZ.shape[0]
        np.dot(dZ.T, X2, out=g["weight_ih"])
        dZ.sum(axis=0, out=g["bias_ih"])
        if dZh is None:
            dZh = dZ
            g["bias_hh"][...] = g["bias_ih"]
        else:
            dZh.sum(axis=0, out=g["bias_hh"])
        np.dot(dZh.T, hs[:-1].reshape(rows, -1), out=g["weight_hh"])

    def loss_and_grads(self, X: np.ndarray, target: np.ndarray):
        loss = self._forward_backward(X, target)
        return loss, {k: v.copy() for k, v in self.g.items()}

    def step(self, X: np.ndarray, target: np.ndarray, lr: float) -> float:
        loss = self._forward_backward(X, target)
        for k, w in self.p.items():
            w -= lr * self.g[k]
        return loss


class NumpyRNN(_Base):
    """Elman RNN: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), y_t = W_y h_t + b_y."""

    def __init__(self, params: dict[str, np.ndarray], T: int, B: int, loss: str) -> None:
        super().__init__(params, T, B, loss)
        self.dZ = np.empty((T, B, self.H), self.dt)  # dL/d(pre-activation), all steps

    def _forward_backward(self, X: np.ndarray, target: np.ndarray) -> float:
        p, T, B, H = self.p, self.T, self.B, self.H
        hs, dZ, dh = self.hs, self.dZ, self.dh
        Whh_T = p["weight_hh"].T
        X2 = X.reshape(T * B, -1)
        # forward: the input projection for all steps in one matmul, into dZ's buffer
        Z = dZ
        np.dot(X2, p["weight_ih"].T, out=Z.reshape(T * B, H))
        Z += p["bias_ih"] + p["bias_hh"]
        for t in range(T):
            z = Z[t]
            z += hs[t] @ Whh_T
            _tanh(z, out=hs[t + 1])
        Hs = hs[1:].reshape(T * B, H)
        loss = self._head_loss(Hs, target)
        # backward through time: dz_t = (dH_t + dz_{t+1} W_hh) * (1 - h_t^2)
        dH = self.dH.reshape(T, B, H)
        dh[...] = 0.0
        for t in range(T - 1, -1, -1):
            h = hs[t + 1]
            np.add(dH[t], dh, out=dh)
            dz = dZ[t]
            np.multiply(h, h, out=dz)
            np.subtract(1.0, dz, out=dz)
            dz *= dh
            np.dot(dz, p["weight_hh"], out=dh)
        self._weight_grads(dZ.reshape(T * B, H), X2, hs)
        return loss


class NumpyLSTM(_Base):
    """LSTM with PyTorch's gate order (i, f, g, o):

    i, f, o = sigmoid(.), g = tanh(.) of W_ih x_t + b_ih + W_hh h_{t-1} + b_hh,
    c_t = f c_{t-1} + i g, h_t = o tanh(c_t).
    """

    def __init__(self, params: dict[str, np.ndarray], T: int, B: int, loss: str) -> None:
        super().__init__(params, T, B, loss)
        H, dt = self.H, self.dt
        self.cs = np.zeros((T + 1, B, H), dt)
        self.tcs = np.empty((T, B, H), dt)  # tanh(c_t)
        self.gates = np.empty((T, B, 4 * H), dt)  # activated gates, reused as dgates
        self.dc = np.empty((B, H), dt)
        self.tmp = np.empty((B, H), dt)

    def _forward_backward(self, X: np.ndarray, target: np.ndarray) -> float:
        p, T, B, H = self.p, self.T, self.B, self.H
        hs, cs, tcs, G = self.hs, self.cs, self.tcs, self.gates
        X2 = X.reshape(T * B, -1)
        np.dot(X2, p["weight_ih"].T, out=G.reshape(T * B, 4 * H))
        G += p["bias_ih"] + p["bias_hh"]
        Whh_T = p["weight_hh"].T
        for t in range(T):
            a = G[t]
            a += hs[t] @ Whh_T
            i, f, g, o = a[:, :H], a[:, H: 2 * H], a[:, 2 * H: 3 * H], a[:, 3 * H:]
            # one sigmoid over all four gates; g = tanh(z_g) = 2 sigmoid(2 z_g) - 1
            g *= 2.0
            _sigmoid(a, out=a)
            g *= 2.0
            g -= 1.0
            c = cs[t + 1]
            np.multiply(f, cs[t], out=c)
            c += i * g
            _tanh(c, out=tcs[t])
            np.multiply(o, tcs[t], out=hs[t + 1])
        Hs = hs[1:].reshape(T * B, H)
        loss = self._head_loss(Hs, target)
        dH = self.dH.reshape(T, B, H)
        dh, dc, tmp = self.dh, self.dc, self.tmp
        dh[...] = 0.0
        dc[...] = 0.0
        for t in range(T - 1, -1, -1):
            a = G[t]  # activated gates; overwritten below by d(pre-activation)
            i, f, g, o = a[:, :H], a[:, H: 2 * H], a[:, 2 * H: 3 * H], a[:, 3 * H:]
            tc = tcs[t]
            dh += dH[t]
            # dc_t += dh * o * (1 - tanh^2 c_t)
            np.multiply(tc, tc, out=tmp)
            np.subtract(1.0, tmp, out=tmp)
            tmp *= o
            tmp *= dh
            dc += tmp
            # do = dh tanh(c) o (1 - o)
            np.multiply(dh, tc, out=tmp)
            tmp *= o
            np.subtract(1.0, o, out=o)
            np.multiply(tmp, o, out=o)
            # dg = dc i (1 - g^2)   (g is read before i is overwritten)
            np.multiply(g, g, out=tmp)
            np.subtract(1.0, tmp, out=tmp)
            tmp *= i
            di = dc * g
            np.multiply(tmp, dc, out=g)
            # di = dc g i (1 - i)
            di *= i
            np.subtract(1.0, i, out=i)
            np.multiply(di, i, out=i)
            # df = dc c_{t-1} f (1 - f); dc_{t-1} = dc f
            np.multiply(dc, cs[t], out=tmp)
            tmp *= f
            dc *= f
            np.subtract(1.0, f, out=f)
            np.multiply(tmp, f, out=f)
            np.dot(a, p["weight_hh"], out=dh)
        self._weight_grads(G.reshape(T * B, 4 * H), X2, hs)
        return loss


class NumpyGRU(_Base):
    """GRU with PyTorch's gate order (r, z, n):

    [gi_r, gi_z, gi_n] = W_ih x_t + b_ih,  [gh_r, gh_z, gh_n] = W_hh h_{t-1} + b_hh,
    r = sigmoid(gi_r + gh_r),  z = sigmoid(gi_z + gh_z),  n = tanh(gi_n + r gh_n),
    h_t = (1 - z) n + z h_{t-1}, computed as n + z (h_{t-1} - n).
    """

    def __init__(self, params: dict[str, np.ndarray], T: int, B: int, loss: str) -> None:
        super().__init__(params, T, B, loss)
        H, dt = self.H, self.dt
        self.gates = np.empty((T, B, 3 * H), dt)  # activated gates, reused as d(gi)
        self.ghn = np.empty((T, B, H), dt)  # gh_n = W_hn h_{t-1} + b_hn, kept for dr
        self.dgh = np.empty((T, B, 3 * H), dt)  # d(gh): d(gi) with its n block times r
        self.gh = np.empty((B, 3 * H), dt)
        self.tmp = np.empty((B, H), dt)
        self.tmp2 = np.empty((B, H), dt)

    def _forward_backward(self, X: np.ndarray, target: np.ndarray) -> float:
        p, T, B, H = self.p, self.T, self.B, self.H
        hs, G, ghn, gh, tmp = self.hs, self.gates, self.ghn, self.gh, self.tmp
        X2 = X.reshape(T * B, -1)
        # the input projection of all steps, with the biases that may join it: b_hn is
        # multiplied by r, so only b_ih + [b_hr, b_hz, 0]
        np.dot(X2, p["weight_ih"].T, out=G.reshape(T * B, 3 * H))
        b = p["bias_ih"] + p["bias_hh"]
        b[2 * H:] = p["bias_ih"][2 * H:]
        G += b
        Whh_T, b_hn = p["weight_hh"].T, p["bias_hh"][2 * H:]
        for t in range(T):
            a = G[t]
            r, z, n = a[:, :H], a[:, H: 2 * H], a[:, 2 * H:]
            np.dot(hs[t], Whh_T, out=gh)
            a[:, :2 * H] += gh[:, :2 * H]
            _sigmoid(a[:, :2 * H], out=a[:, :2 * H])  # r and z: one sigmoid over both
            np.add(gh[:, 2 * H:], b_hn, out=ghn[t])
            np.multiply(r, ghn[t], out=tmp)
            n += tmp
            _tanh(n, out=n)
            h = hs[t + 1]
            np.subtract(hs[t], n, out=h)
            h *= z
            h += n
        Hs = hs[1:].reshape(T * B, H)
        loss = self._head_loss(Hs, target)
        dH = self.dH.reshape(T, B, H)
        dh, dgh, omz, dhz = self.dh, self.dgh, self.tmp, self.tmp2
        dh[...] = 0.0
        for t in range(T - 1, -1, -1):
            a = G[t]  # activated gates; overwritten below by d(gi)
            r, z, n = a[:, :H], a[:, H: 2 * H], a[:, 2 * H:]
            d = dgh[t]
            dr, dz, dn = d[:, :H], d[:, H: 2 * H], d[:, 2 * H:]
            dh += dH[t]
            # dz = dh (h_{t-1} - n) z (1 - z)
            np.subtract(1.0, z, out=omz)
            np.subtract(hs[t], n, out=dz)
            dz *= dh
            dz *= z
            dz *= omz
            # h_{t-1}'s direct share: dh z
            np.multiply(dh, z, out=dhz)
            # d(gi)_n = dh (1 - z) (1 - n^2), in n's place
            np.multiply(n, n, out=n)
            np.subtract(1.0, n, out=n)
            n *= omz
            n *= dh
            # dr = d(gi)_n gh_n r (1 - r);  d(gh)_n = d(gi)_n r
            np.multiply(n, ghn[t], out=dr)
            dr *= r
            np.subtract(1.0, r, out=omz)
            dr *= omz
            np.multiply(n, r, out=dn)
            a[:, :2 * H] = d[:, :2 * H]  # d(gi) and d(gh) share the r and z blocks
            # dh_{t-1} = d(gh) W_hh + dh z
            np.dot(d, p["weight_hh"], out=dh)
            dh += dhz
        self._weight_grads(G.reshape(T * B, 3 * H), X2, hs, dgh.reshape(T * B, 3 * H))
        return loss
