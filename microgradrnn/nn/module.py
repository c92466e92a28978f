"""Module and Parameter: parameter discovery, train/eval, state dicts and .npz files."""

from __future__ import annotations

import io
import os
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np

from ..engine import Tensor
from ..files import write_whole

__all__ = ["Module", "Parameter"]



def check_sizes(where: str, **sizes: Any) -> None:
    """ValueError naming the first size that is not a positive int (0 divided by zero in
    an initialiser; 3.5 was taken as 3; a float or a str failed inside numpy)."""
    for name, n in sizes.items():
        if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"{where}: {name} must be a positive int, got {n!r}")

class Parameter(Tensor):
    """A Tensor that a Module owns and an optimizer updates (always requires grad)."""

    __slots__ = ()

    def __init__(self, data: Any, label: str = "", dtype: Any = None) -> None:
        super().__init__(data, requires_grad=True, label=label, dtype=dtype)


class Module:
    """Base class of layers and cells.

    Parameters and submodules are found from attributes, in assignment order: a
    ``Parameter``, a ``Module``, or a list/tuple of Modules (named ``name.0``, ``name.1``).
    A Parameter assigned to an attribute gets that attribute's name as its ``label``
    (unless it already has one), so the renderer can name shared weights.
    ``__call__`` runs ``forward``.
    """

    training: bool = True

    def __setattr__(self, name: str, value: Any) -> None:
        if isinstance(value, Parameter) and not value.label:
            value.label = name
        object.__setattr__(self, name, value)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__}: define forward() or __call__()")

    # -- discovery ------------------------------------------------------------------------

    def children(self) -> Iterator[tuple[str, Module]]:
        """Direct submodules as (name, module); list/tuple items are named ``name.i``."""
        for name, value in vars(self).items():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                for i, item in enumerate(value):
                    if isinstance(item, Module):
                        yield f"{name}.{i}", item

    def _named_parameters(self, prefix: str) -> Iterator[tuple[str, Parameter]]:
        """Every (dotted name, parameter), repeats included. Layers may override."""
        for name, value in vars(self).items():
            if isinstance(value, Parameter):
                yield prefix + name, value
        for name, child in self.children():
            yield from child._named_parameters(f"{prefix}{name}.")

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs; a parameter shared by two owners appears once."""
        seen: set[int] = set()
        for name, p in self._named_parameters(""):
            if id(p) not in seen:
                seen.add(id(p))
                yield name, p

    def parameters(self) -> list[Parameter]:
        """All parameters, each once, in a stable order."""
        return [p for _, p in self.named_parameters()]

    def modules(self) -> Iterator[Module]:
        """This module and every submodule below it."""
        yield self
        for _, child in self.children():
            yield from child.modules()

    # -- modes and gradients --------------------------------------------------------------

    def zero_grad(self) -> None:
        """Forget the gradients of all parameters."""
        for p in self.parameters():
            p.zero_grad()

    def train(self, mode: bool = True) -> Module:
        """Set training mode (dropout active) here and in every submodule."""
        if not isinstance(mode, (bool, np.bool_)):  # train("False") would turn it on
            raise TypeError(f"{type(self).__name__}.train: mode must be True or False, got "
                            f"{mode!r}")
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self) -> Module:
        """Set evaluation mode (no dropout) here and in every submodule."""
        return self.train(False)

    def astype(self, dtype: Any) -> Module:
        """Convert every parameter to dtype (e.g. np.float32) in place. Only floating
        dtypes: gradients of integer weights mean nothing."""
        try:
            kind = np.dtype(dtype).kind
        except TypeError:
            raise TypeError(f"{type(self).__name__}.astype: {dtype!r} is not a dtype") from None
        if kind != "f":
            raise TypeError(f"{type(self).__name__}.astype: dtype must be floating (e.g. "
                            f"np.float32, np.float64), got {np.dtype(dtype)}")
        for p in self.parameters():
            p._data = np.asarray(p._data).astype(dtype)
            p._grad = None
        return self

    # -- state ----------------------------------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """{name: copy of the parameter's values}; the names match PyTorch's where it has them."""
        return {name: p.numpy() for name, p in self.named_parameters()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Copy values from ``{name: array}`` into the parameters (any array-like values,
        e.g. a PyTorch state dict converted with ``.numpy()``).

        Raises KeyError listing every missing and unexpected key, or ValueError listing
        every shape mismatch or value that is not a real number. Everything is checked
        before anything is assigned: nothing is loaded unless everything fits.
        """
        own = dict(self.named_parameters())
        where = type(self).__name__
        if not isinstance(state, Mapping):  # a str's letters were taken as its keys
            hint = " (to read a file, use load(path))" if isinstance(state, (str, os.PathLike)) \
                else ""
            raise TypeError(f"{where}.load_state_dict: expected a dict {{name: array}}, got "
                            f"{type(state).__name__}{hint}")
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if missing or unexpected:
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise KeyError(f"{where}.load_state_dict: " + "; ".join(parts))
        arrays = {}
        for k, v in state.items():  # a Tensor's values, not an object array holding it
            try:
                arrays[k] = np.asarray(v._data if isinstance(v, Tensor) else v)
            except ValueError as e:
                raise ValueError(f"{where}.load_state_dict: {k} is not an array ({e})") \
                    from None
        bad = [f"{k}: got {arrays[k].shape}, expected {p.shape}"
               for k, p in own.items() if arrays[k].shape != p.shape]
        if bad:
            raise ValueError(f"{where}.load_state_dict: shape mismatch for " + "; ".join(bad))
        bad = [f"{k} (dtype {arrays[k].dtype})" for k in own if arrays[k].dtype.kind not in "biuf"]
        if bad:
            raise ValueError(f"{where}.load_state_dict: values that are not real numbers "
                             "for " + "; ".join(bad))
        converted = {k: np.array(arrays[k], dtype=p.dtype) for k, p in own.items()}
        for k, p in own.items():  # only now that every array converted
            p._data = converted[k]

    def save(self, path: str | os.PathLike) -> None:
        """Write the state dict to exactly ``path`` as an .npz file (overwriting it).

        No suffix is added: ``save("model")`` writes the file ``model``. The file is
        written beside it under a temporary name and then renamed, so a failed write
        leaves no half-written file (and an existing one as it was).
        """
        buf = io.BytesIO()
        np.savez(buf, **self.state_dict())
        write_whole(path, buf.getvalue())

    def load(self, path: str | os.PathLike) -> None:
        """Load an .npz file written by ``save`` (or any ``{name: array}`` .npz).

        The file is read with ``allow_pickle=False``: a file holding pickled objects is
        refused with a ValueError and nothing is loaded. So is an empty, truncated or
        corrupted file (a ValueError naming it); the module is then left as it was.
        """
        where = f"{type(self).__name__}.load: {os.fspath(path)!r}"
        try:
            npz = np.load(path, allow_pickle=False)
            if isinstance(npz, np.lib.npyio.NpzFile):
                with npz:
                    state = {k: npz[k] for k in npz.files}
        except ValueError as e:
            if "allow_pickle" in str(e):
                raise ValueError(
                    f"{where} holds pickled Python objects (or is not an .npz file at all); "
                    "pickles are refused because loading one can run code. Expected an .npz "
                    "file of plain numeric arrays, as written by Module.save"
                ) from None
            raise ValueError(f"{where} is not a readable .npz file ({e})") from None
        except (EOFError, OSError, zipfile.BadZipFile, zlib.error) as e:
            if isinstance(e, (FileNotFoundError, IsADirectoryError, PermissionError)):
                raise
            raise ValueError(f"{where} is empty, truncated or corrupted, not a readable "
                             f".npz file ({type(e).__name__}: {e})") from None
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise ValueError(f"{where} is a single .npy array, not an .npz file of named "
                             "arrays")
        self.load_state_dict(state)

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__}({self.extra_repr()}"]
        for name, child in self.children():
            lines.append(f"  ({name}): " + repr(child).replace("\n", "\n  "))
        return lines[0] + ")" if len(lines) == 1 else "\n".join(lines) + "\n)"

    def extra_repr(self) -> str:
        return ""
