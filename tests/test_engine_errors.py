"""Every error path raises the documented type with a message naming the op and shapes."""

import ast
import pathlib
import re

import numpy as np
import pytest

import microgradrnn as mg
from microgradrnn import Tensor, Value, functional

A23 = Tensor(np.ones((2, 3)), requires_grad=True)


def _backward(root, **kw):
    return lambda: root.backward(**kw)


ERRORS = [
    # making tensors
    ("str", lambda: Tensor("abc"), TypeError, "got a str"),
    ("bytes", lambda: Tensor(b"abc"), TypeError, "got a bytes"),
    ("list of str", lambda: Tensor(["a", "b"]), TypeError, r"list of dtype <U1"),
    ("object", lambda: Tensor([object()]), TypeError, "list of dtype object"),
    ("dict", lambda: Tensor({"a": 1}), TypeError, "dict"),
    ("None", lambda: Tensor(None), TypeError, "NoneType"),
    ("None as float", lambda: Tensor(None, dtype=np.float64), TypeError, "NoneType"),  # NaN
    ("list of Tensors", lambda: Tensor([A23[0], A23[1]]), TypeError,
     r"Tensor: got a list of Tensors, which would be cut from their graph: join them with "
     r"stack\(\) or concatenate\(\), or use \.numpy\(\)"),
    ("complex", lambda: Tensor([1 + 2j]), TypeError, "complex"),
    ("ragged", lambda: Tensor([[1.0, 2.0], [3.0]]), TypeError, "list.*rectangular"),
    ("Value str", lambda: Value("3"), TypeError, "Value: expected a real number, got str"),
    ("Value array", lambda: Value(np.ones(2)), TypeError, "Value: .*ndarray"),
    # binary ops and matmul
    ("add", lambda: A23 + Tensor(np.ones(4)), ValueError,
     r"add: shapes \(2, 3\) and \(4,\) do not broadcast"),
    ("sub", lambda: A23 - np.ones((3, 2)), ValueError, r"sub: shapes \(2, 3\) and \(3, 2\)"),
    ("mul", lambda: A23 * np.ones(2), ValueError, r"mul: shapes \(2, 3\) and \(2,\)"),
    ("div", lambda: A23 / np.ones(2), ValueError, r"div: shapes \(2, 3\) and \(2,\)"),
    ("pow", lambda: A23 ** Tensor(np.ones(2)), ValueError, r"pow: shapes \(2, 3\) and \(2,\)"),
    ("pow exponent", lambda: A23 ** "2", TypeError, "pow: exponent must be a number"),
    ("matmul", lambda: Tensor(np.ones((3, 4))) @ Tensor(np.ones((5, 2))), ValueError,
     re.escape("matmul: shapes (3, 4) and (5, 2) do not line up")),
    ("matmul 0-d", lambda: Tensor(2.0) @ A23, ValueError,
     r"matmul: shapes \(\) and \(2, 3\).*at least 1 dimension"),
    ("matmul batch", lambda: Tensor(np.ones((2, 3, 4))) @ Tensor(np.ones((3, 4, 5))),
     ValueError, r"matmul: batch dimensions of shapes \(2, 3, 4\) and \(3, 4, 5\)"),
    ("linear", lambda: functional.linear(A23, Tensor(np.ones((4, 2)))), ValueError,
     r"linear: input of shape \(2, 3\) does not fit weight of shape \(4, 2\)"),
    ("linear bias", lambda: functional.linear(A23, Tensor(np.ones((4, 3))),
                                              Tensor(np.ones(3))), ValueError,
     r"linear: bias of shape \(3,\), expected \(4,\)"),
    # shape ops and reductions
    ("sum axis", lambda: A23.sum(axis=2), ValueError, "sum: axis 2 is out of range.*2 dims"),
    ("mean axis", lambda: A23.mean(axis=-3), ValueError, "mean: axis -3 is out of range"),
    ("max axis", lambda: A23.max(axis=5), ValueError, "max: axis 5"),
    ("max empty", lambda: Tensor(np.ones((0, 2))).max(), ValueError,
     r"max: tensor of shape \(0, 2\) is empty"),
    ("reshape", lambda: A23.reshape(4, 2), ValueError,
     r"reshape: cannot reshape shape \(2, 3\) into \(4, 2\)"),
    ("transpose", lambda: A23.transpose(0, 0), ValueError,
     r"transpose: \(0, 0\) is not a permutation of the axes of \(2, 3\)"),
    ("transpose range", lambda: A23.transpose(0, 5), ValueError,
     r"transpose: \(0, 5\) is not a permutation of the axes of \(2, 3\)"),
    # PyTorch's transpose(0, 1) swaps; numpy's keeps a 2-D tensor as it is (silently)
    ("transpose (0, 1) of 2-D", lambda: A23.transpose(0, 1), ValueError,
     r"transpose: \(0, 1\) keeps a 2-D tensor as it is in numpy's reading and swaps its "
     r"axes in PyTorch's; write \.T or transpose\(1, 0\)"),
    ("transpose two axes of 3-D", lambda: Tensor(np.ones((2, 3, 4))).transpose(0, 1),
     ValueError, r"transpose: \(0, 1\) is not a permutation of the axes of \(2, 3, 4\); "
     r"it takes all the axes, as numpy's does: to swap two as PyTorch's transpose\(0, 1\) "
     r"does, write transpose\(1, 0, 2\)"),
    ("transpose float axis", lambda: A23.transpose(1.0, 0), ValueError,
     r"transpose: \(1.0, 0\) is not a permutation"),
    ("sum float axis", lambda: A23.sum(axis=1.0), TypeError,
     "sum: axis must be an int, a tuple of ints or None, got 1.0"),
    ("mean str axis", lambda: A23.mean(axis="a"), TypeError,
     "mean: axis must be an int, a tuple of ints or None, got 'a'"),
    ("max bool axis", lambda: A23.max(axis=True), TypeError, "max: axis must be an int"),
    ("softmax float axis", lambda: functional.softmax(A23, axis=1.0), TypeError,
     "softmax: axis must be an int, got 1.0"),
    ("reshape float size", lambda: A23.reshape(3, 2.0), ValueError,
     r"reshape: cannot reshape shape \(2, 3\) into \(3, 2.0\) \(sizes are ints"),
    ("sum repeated axis", lambda: A23.sum(axis=(1, -1)), ValueError,
     r"sum: axis \(1, -1\) repeats an axis"),
    ("sum axis of 0-d", lambda: Tensor(2.0).sum(axis=0), ValueError,
     "sum: axis 0 is out of range for a tensor with 0 dims"),
    ("getitem range", lambda: A23[5], IndexError, r"getitem: .*\(tensor of shape \(2, 3\)\)"),
    ("getitem float", lambda: A23[np.array([0.5])], TypeError, "getitem: float index"),
    ("getitem str array", lambda: A23[np.array(["a"])], TypeError,
     "getitem: index arrays must hold integers"),
    ("concatenate", lambda: mg.concatenate([A23, Tensor(np.ones((3, 3)))], axis=1),
     ValueError, r"concatenate: shapes \(2, 3\), \(3, 3\) must match except along axis 1"),
    ("concatenate empty", lambda: mg.concatenate([]), ValueError, "concatenate: needs"),
    ("stack", lambda: mg.stack([A23, Tensor(np.ones(3))]), ValueError,
     r"stack: all shapes must be equal, got \(2, 3\), \(3,\)"),
    ("stack axis", lambda: mg.stack([A23, A23], axis=4), ValueError,
     "stack: axis 4 is out of range"),
    ("unbind scalar", lambda: mg.unbind(Tensor(1.0)), ValueError,
     r"unbind: needs a tensor with at least one axis, got shape \(\)"),
    ("unbind axis", lambda: mg.unbind(A23, axis=2), ValueError,
     r"unbind: axis 2 is out of range for shape \(2, 3\)"),
    ("where", lambda: mg.where(np.ones(4, bool), A23, 0.0), ValueError,
     r"where: shapes \(4,\), \(2, 3\) and \(\) do not broadcast"),
    ("maximum", lambda: mg.maximum(A23, np.ones(2)), ValueError,
     r"maximum: shapes \(2, 3\) and \(2,\) do not broadcast"),
    # the node's own setters and accessors
    ("data setter", lambda: setattr(Tensor(np.ones(2)), "data", np.ones(3)), ValueError,
     r"data: new value of shape \(3,\) does not match shape \(2,\)"),
    ("grad setter", lambda: setattr(Tensor(np.ones(2)), "grad", np.ones(3)), ValueError,
     r"grad: value of shape \(3,\) does not match shape \(2,\)"),
    ("item", lambda: A23.item(), ValueError, r"item: tensor of shape \(2, 3\) has 6"),
    ("len 0-d", lambda: len(Tensor(1.0)), TypeError, "0-d"),
    ("hook on constant", lambda: Tensor(1.0).register_hook(print), RuntimeError,
     "register_hook: this tensor does not require grad"),
    # backward
    ("non-scalar root", _backward(A23 * 2.0), RuntimeError,
     r"backward: the root has shape \(2, 3\), so pass grad="),
    ("grad shape", _backward(A23 * 2.0, grad=np.ones(3)), ValueError,
     r"backward: grad has shape \(3,\) but the root has shape \(2, 3\)"),
    ("root without grad", _backward(Tensor(np.ones(2)).sum()), RuntimeError,
     "backward: this tensor does not require grad"),
    # functional
    ("cross_entropy float targets", lambda: functional.cross_entropy(A23, [0.5, 1.0]),
     TypeError, "cross_entropy: targets must be integer class indices"),
    ("cross_entropy target range", lambda: functional.cross_entropy(A23, [0, 3]), ValueError,
     r"cross_entropy: targets must lie in \[0, 3\)"),
    ("cross_entropy inf target", lambda: functional.cross_entropy(A23, [0.0, np.inf]),
     ValueError, r"cross_entropy: targets must lie in \[0, 3\), got values from 0.0 to inf"),
    ("cross_entropy huge target", lambda: functional.cross_entropy(A23, [1e20, 0.0]),
     ValueError, r"got values from 0.0 to 1e\+20"),  # both wrapped to -2**63 in the cast
    ("per_step_loss layer tuple", lambda: functional.per_step_loss(
        (Tensor(np.ones((3, 1, 2))), Tensor(np.ones((1, 1, 2)))), lambda h: h,
        np.ones((2, 1, 2)), functional.mse_loss), TypeError,  # said "output has 2 steps"
     r"per_step_loss: output must be a Tensor \(T, B, H\), got tuple \(a layer returns "
     r"\(output, final_state\): pass its \[0\]\)"),
    ("cross_entropy target shape", lambda: functional.cross_entropy(A23, [0, 1, 2]),
     ValueError, r"cross_entropy: targets of shape \(3,\) do not match logits of shape"),
    ("cross_entropy scalar", lambda: functional.cross_entropy(Tensor(1.0), 0), ValueError,
     "cross_entropy: logits must have a class axis"),
    ("cross_entropy reduction", lambda: functional.cross_entropy(A23, [0, 1], "avg"),
     ValueError, "cross_entropy: reduction must be one of"),
    ("mse_loss shapes", lambda: functional.mse_loss(A23, np.ones(3)), ValueError,
     r"mse_loss: pred of shape \(2, 3\) and target of shape \(3,\) differ"),
    ("mse_loss reduction", lambda: functional.mse_loss(A23, np.ones((2, 3)), "all"),
     ValueError, "mse_loss: reduction must be one of"),
    ("softmax axis", lambda: functional.softmax(A23, axis=2), ValueError,
     r"softmax: axis 2 is out of range for shape \(2, 3\)"),
    ("log_softmax axis", lambda: functional.log_softmax(Tensor(1.0)), ValueError,
     r"log_softmax: axis -1 is out of range for shape \(\)"),
    # gradcheck's own input errors
    ("gradcheck no input", lambda: mg.gradcheck(lambda a: a, Tensor(1.0)), ValueError,
     "gradcheck: no input is a Tensor with requires_grad=True"),
    ("gradcheck result", lambda: mg.gradcheck(lambda a: 1.0, A23), TypeError,
     "gradcheck: fn must return a Tensor, got float"),
]


@pytest.mark.parametrize("make,kind,message", [e[1:] for e in ERRORS],
                         ids=[e[0] for e in ERRORS])
def test_error_type_and_message(make, kind, message):
    with pytest.raises(kind, match=message):
        make()


def test_second_backward_error_says_why():
    y = (A23 * A23).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="already backpropagated.*freed.*retain_graph"):
        y.backward()


def test_hook_returning_the_wrong_shape():
    a = Tensor(np.ones(3), requires_grad=True)
    h = a * 2.0
    h.register_hook(lambda g: np.ones(2))
    with pytest.raises(ValueError, match=r"hook on node 'mul': returned shape \(2,\), "
                                         r"expected \(3,\)"):
        h.sum().backward()


def test_no_bare_asserts_in_the_library():
    """User input is checked with real exceptions, which `python -O` keeps."""
    package = pathlib.Path(mg.__file__).parent
    for path in package.rglob("*.py"):
        tree = ast.parse(path.read_text())
        asserts = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Assert)]
        assert not asserts, f"{path.name}: assert at lines {asserts}"


def test_a_rule_returning_the_wrong_number_of_gradients_is_named():
    from microgradrnn import from_op

    a = Tensor(np.ones(2), requires_grad=True)
    b = Tensor(np.ones(2), requires_grad=True)
    out = from_op(a._data + b._data, (a, b), lambda g: (g,), "my_add")
    with pytest.raises(TypeError, match="backward rule of op 'my_add' returned 1 gradients "
                                        "for 2 inputs"):
        out.sum().backward()
