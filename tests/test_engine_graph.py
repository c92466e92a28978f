"""The graph and the backward pass: topological order, reuse, accumulation, retain_graph,
memory, hooks, no_grad, detach, the flow record, tags and anomaly detection."""

import gc
import sys
import time
import tracemalloc
import weakref

import numpy as np
import pytest

import microgradrnn as mg
from microgradrnn import AnomalyError, Flow, Tensor, Value, gradient_flow, nn, no_grad, tags
from microgradrnn.engine import toposort


def _graph():
    """A graph with diamonds, a reused non-leaf node, a*a, a+a, broadcasting and a
    repeated-index getitem; returns (root, leaves, every op node)."""
    a = Tensor(np.linspace(-1, 1, 6).reshape(2, 3), requires_grad=True, label="a")
    w = Tensor(np.linspace(0.5, 1.5, 12).reshape(3, 4), requires_grad=True, label="w")
    c = Tensor(np.array([0.3, -0.2, 0.1, 0.4]), requires_grad=True, label="c")
    h = (a @ w + c).tanh()          # reused below: a non-leaf with three children
    s = h * h + h[:, [0, 0, 3]].sum() + (h + h).mean(axis=0)
    d = a * a                        # two edges to one parent
    root = s.sum() + d.sum() + (h.exp() * s).mean()
    return root, [a, w, c], [h, s, d, root]


def _check_order(order):
    position = {node: i for i, node in enumerate(order)}
    assert len(position) == len(order), "a node appears twice"
    for node in order:
        for p in node.parents:
            if p.requires_grad:
                assert position[p] < position[node], "a parent comes after its child"


def test_toposort_is_a_valid_order():
    root, inputs, nodes = _graph()
    order = toposort(root)
    _check_order(order)
    assert order[-1] is root
    assert set(inputs + nodes) <= set(order)


def test_parents_are_an_ordered_tuple_with_repeats():
    a, b = Tensor(2.0, requires_grad=True), Tensor(3.0, requires_grad=True)
    assert (a * a).parents == (a, a)
    assert (a + a).parents == (a, a)
    assert [p is q for p, q in zip((b - a).parents, (b, a), strict=True)] == [True, True]


@pytest.mark.parametrize("expr,grad", [
    (lambda a: a * a, lambda x: 2 * x),
    (lambda a: a + a, lambda x: np.full_like(x, 2.0)),
    (lambda a: a * a * a, lambda x: 3 * x * x),
    (lambda a: a / a, lambda x: np.zeros_like(x)),
    (lambda a: (a - a * 2) * a, lambda x: -2 * x),
])
def test_two_edges_to_one_parent(expr, grad):
    x = np.array([1.5, -2.0, 3.0])
    a = Tensor(x, requires_grad=True)
    expr(a).sum().backward()
    np.testing.assert_allclose(a.grad, grad(x), atol=1e-15)


def test_diamond_and_reused_intermediate_get_summed_gradients():
    x = Tensor(0.5, requires_grad=True)
    b = x * 3.0               # used by two branches: b*b and exp(b)
    y = b * b + b.exp()
    y.backward()
    np.testing.assert_allclose(b.grad, 2 * 1.5 + np.exp(1.5))
    np.testing.assert_allclose(x.grad, 3 * (2 * 1.5 + np.exp(1.5)))
    np.testing.assert_allclose(y.grad, 1.0)


def test_every_node_gets_a_read_only_grad_of_its_shape():
    root, inputs, nodes = _graph()
    root.backward()
    for node in toposort(root):
        assert isinstance(node.grad, np.ndarray), node.op
        assert node.grad.shape == node.shape
        if node.ndim:  # 0-d results are numpy scalars; .grad hands out a fresh array
            assert not node.grad.flags.writeable
            with pytest.raises(ValueError):
                node.grad[...] = 0.0


def test_nodes_that_do_not_require_grad_get_none():
    a, k = Tensor([1.0, 2.0], requires_grad=True), Tensor([3.0, 4.0])
    (a * k).sum().backward()
    assert k.grad is None and not k.requires_grad
    np.testing.assert_array_equal(a.grad, [3.0, 4.0])


def test_long_chain_goes_back_without_recursion():
    """200,000 nodes under the default recursion limit, in reasonable time."""
    assert sys.getrecursionlimit() <= 10_000
    x = Value(0.5)
    y = x
    start = time.perf_counter()
    for _ in range(200_000):
        y = y * 1.0000001
    y.backward()
    assert time.perf_counter() - start < 20
    assert x.grad == pytest.approx(1.0000001 ** 200_000, rel=1e-9)
    assert len(toposort(y)) == 200_001


def test_long_tensor_chain():
    x = Tensor(np.ones(3), requires_grad=True)
    y = x
    for _ in range(5_000):
        y = y * 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones(3))


# -- backward semantics -------------------------------------------------------------------


def test_gradients_accumulate_until_zero_grad():
    a = Tensor([1.0, 2.0], requires_grad=True)
    y = (a * a).sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    np.testing.assert_array_equal(a.grad, [4.0, 8.0])
    (a * 3.0).sum().backward()  # a new graph adds to the same leaf
    np.testing.assert_array_equal(a.grad, [7.0, 11.0])
    a.zero_grad()
    assert a.grad is None
    (a * a).sum().backward()
    np.testing.assert_array_equal(a.grad, [2.0, 4.0])


def test_explicit_grad_seeds_the_root():
    a = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    (a * a).backward(grad=[1.0, 0.0, -1.0])
    np.testing.assert_array_equal(a.grad, [2.0, 0.0, -6.0])


def test_second_backward_without_retain_graph_raises():
    a = Tensor([1.0, 2.0], requires_grad=True)
    y = (a.exp() * a).sum()
    y.backward()
    first = a.grad.copy()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()
    np.testing.assert_array_equal(a.grad, first)


def test_retain_graph_allows_a_second_pass_and_the_last_one_frees():
    a = Tensor([1.0, 2.0], requires_grad=True)
    h = a.tanh()
    y1, y2 = h.sum(), (h * 2.0).sum()
    y1.backward(retain_graph=True)
    y2.backward()  # through h again: h was retained
    np.testing.assert_allclose(a.grad, 3 * (1 - np.tanh([1.0, 2.0]) ** 2))
    with pytest.raises(RuntimeError, match="freed"):
        (h * 1.0).sum().backward()  # h's saved arrays are gone now


def _memory_graph():
    a = Tensor(np.linspace(-2, 2, 1000), requires_grad=True)
    return (a.relu().abs().clip(-1.0, 1.0) * a.max()).sum()


def _held_after_backward(retain_graph):
    """Bytes still held (graph and gradients alive) after a backward pass of _memory_graph."""
    gc.collect()
    tracemalloc.start()
    try:
        root = _memory_graph()
        root.backward(retain_graph=retain_graph)
        gc.collect()
        return tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()


def test_backward_frees_saved_arrays():
    # what rules saved and no node owns: relu's mask (1000 B), abs's sign (8000 B), clip's
    # mask (1000 B) and more; the same graph and gradients, with and without those
    freed = _held_after_backward(True) - _held_after_backward(False)
    assert freed >= 1000 + 8000 + 1000


def test_backward_drops_each_rule_and_what_it_saved():
    a = Tensor(np.ones(3), requires_grad=True)
    saved = np.arange(3.0)  # held only by the rule below
    ref = weakref.ref(saved)
    y = mg.from_op(a._data * saved, (a,), lambda g, s=saved: (g * s,), "scale")
    del saved
    y.sum().backward(retain_graph=True)
    gc.collect()
    assert ref() is not None  # retain_graph keeps the rule
    y.sum().backward()
    gc.collect()
    assert ref() is None
    np.testing.assert_array_equal(a.grad, [0.0, 2.0, 4.0])


def test_retain_graph_keeps_saved_arrays():
    a = Tensor(np.ones(3), requires_grad=True)
    saved = np.arange(3.0)
    ref = weakref.ref(saved)
    y = mg.from_op(a._data * saved, (a,), lambda g, s=saved: (g * s,), "scale")
    del saved
    y.sum().backward(retain_graph=True)
    gc.collect()
    assert ref() is not None


def _freed_by_refcount(make_root, run_backward):
    """Build a graph, keep weak references to all its nodes, drop it with the cyclic
    collector off: are they all gone? (The engine relies on it: backward pauses the
    collector because the graph has no reference cycles.)"""
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        root = make_root()
        refs = [weakref.ref(n) for n in toposort(root) if n._parents]
        assert refs
        if run_backward:
            root.backward(retain_graph=run_backward == "retain")
        del root
        return [r() is None for r in refs]
    finally:
        if was:
            gc.enable()


def _layer_loss(kind, fused=False):
    def make():
        layer = getattr(nn, kind)(3, 4, num_layers=2, rng=0, fused=fused)
        out, _ = layer(np.ones((5, 2, 3)))
        return (out * out).sum()
    return make


@pytest.mark.parametrize("run_backward", [False, True, "retain"])
@pytest.mark.parametrize("make_root", [lambda: _graph()[0], _memory_graph,
                                       _layer_loss("RNN"), _layer_loss("LSTM"),
                                       _layer_loss("GRU"), _layer_loss("RNN", True),
                                       _layer_loss("LSTM", True), _layer_loss("GRU", True)],
                         ids=["ops", "memory", "rnn", "lstm", "gru", "rnn-fused",
                              "lstm-fused", "gru-fused"])
def test_graph_has_no_cycles_reference_counting_frees_it(make_root, run_backward):
    alive = _freed_by_refcount(make_root, run_backward)
    assert alive == [True] * len(alive)


@pytest.mark.parametrize("fused", [False, True], ids=["composed", "fused"])
@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_a_training_step_leaves_nothing_for_the_cyclic_collector(kind, fused):
    """A whole training step (layer, head, loss, backward, SGD) frees its graph by
    reference counting alone: with the collector off, no node outlives the step and
    gc.collect() then finds no garbage (nothing in the graph refers back to itself, so
    no full collection is ever needed to free it)."""
    from microgradrnn import functional as F
    from microgradrnn import optim

    rnn = getattr(nn, kind)(3, 4, rng=0, fused=fused)
    head = nn.Linear(4, 2, rng=1)
    opt = optim.SGD(rnn.parameters() + head.parameters(), lr=0.1)
    x = np.random.default_rng(0).standard_normal((6, 2, 3))
    target = np.random.default_rng(1).integers(0, 2, (6, 2))
    refs = []

    def step():
        opt.zero_grad()
        out, _ = rnn(x)
        loss = F.cross_entropy(head(out), target)
        refs.extend(weakref.ref(n) for n in toposort(loss) if n.parents)
        loss.backward()
        opt.step()

    step()  # warm: anything made once (caches) is made here
    was = gc.isenabled()
    gc.collect()
    gc.disable()
    try:
        refs.clear()
        step()
        assert refs and all(r() is None for r in refs)
        assert gc.collect() == 0
    finally:
        if was:
            gc.enable()


def test_a_cached_join_keeps_its_arrays_alive_so_their_ids_stay_unique():
    # the factored-gradient join is cached by the ids of its arrays; a freed array's id
    # could be reused by a new array, so the cache must hold what it joined
    from microgradrnn.accumulate import JoinCache

    join = JoinCache()
    a, b = np.ones(2), np.zeros(2)
    ref = weakref.ref(a)
    np.testing.assert_array_equal(join([a, b]), [1, 1, 0, 0])
    del a
    gc.collect()
    assert ref() is not None
    c, d = np.full(2, 5.0), np.full(2, 7.0)
    np.testing.assert_array_equal(join([c, d]), [5, 5, 7, 7])


def test_the_join_cache_keeps_two_joins_for_the_gru_s_alternating_folds():
    # a fused GRU's folds alternate W_ih (d_gi), W_hh (d_gh), b_ih (d_gi), b_hh (d_gh):
    # each of the two lists is joined once, and its row sum taken once
    from microgradrnn.accumulate import JoinCache

    join = JoinCache()
    gi, gh = [np.ones((2, 3)), np.zeros((2, 3))], [np.full((2, 3), 2.0)] * 2
    first_gi, first_gh = join(gi), join(gh)
    assert join(gi) is first_gi
    np.testing.assert_array_equal(join.row_sum(), [2.0, 2.0, 2.0])
    assert join(gh) is first_gh
    np.testing.assert_array_equal(join.row_sum(), [8.0, 8.0, 8.0])
    join([np.ones((1, 3))])  # a third list pushes out the least recently used (gi)
    assert join(gh) is first_gh and join(gi) is not first_gi


# -- hooks, no_grad, detach ---------------------------------------------------------------


def test_hook_sees_the_gradient_and_may_replace_it():
    a = Tensor([1.0, 2.0], requires_grad=True)
    h = a * 3.0
    seen = []
    handle = h.register_hook(lambda g: seen.append(np.array(g)))
    h.register_hook(lambda g: g * 10.0)  # the replacement goes on to the parents
    (h * h).sum().backward()
    np.testing.assert_array_equal(seen[0], [6.0, 12.0])
    np.testing.assert_array_equal(h.grad, [60.0, 120.0])
    np.testing.assert_array_equal(a.grad, [180.0, 360.0])
    handle.remove()
    a.zero_grad()
    (a * 1.0).sum().backward()
    assert len(seen) == 1


def test_hook_on_a_leaf_changes_its_grad():
    a = Tensor([1.0, -1.0], requires_grad=True)
    a.register_hook(lambda g: -g)
    (a * 2.0).sum().backward()
    np.testing.assert_array_equal(a.grad, [-2.0, -2.0])


def test_no_grad_as_context_manager_and_decorator():
    a = Tensor([1.0, 2.0], requires_grad=True)
    with no_grad():
        assert not mg.is_grad_enabled()
        b = a * 2.0
    assert mg.is_grad_enabled()
    assert not b.requires_grad and b.parents == ()
    np.testing.assert_array_equal(b.data, [2.0, 4.0])

    @no_grad()
    def step(t):
        return t.exp()

    c = step(a)
    assert not c.requires_grad and mg.is_grad_enabled()
    assert not step(a).requires_grad  # the decorator works more than once

    @no_grad  # without the brackets, as PyTorch takes it
    def bare(t):
        return t.exp()

    assert not bare(a).requires_grad and not bare(a).requires_grad
    assert mg.is_grad_enabled() and bare.__name__ == "bare"
    with pytest.raises(TypeError, match="no_grad: takes a function to decorate or nothing, "
                                        "got True"):
        no_grad(True)
    with pytest.raises(KeyError):
        with no_grad():
            raise KeyError("x")
    assert mg.is_grad_enabled()


def test_detach_cuts_the_graph():
    a = Tensor([1.0, 2.0], requires_grad=True)
    d = (a * a).detach()
    assert not d.requires_grad and d.parents == ()
    np.testing.assert_array_equal(d.data, [1.0, 4.0])
    (a * d).sum().backward()  # d is a constant: d(a * a^2_const)/da = a^2
    np.testing.assert_array_equal(a.grad, [1.0, 4.0])


# -- flow record --------------------------------------------------------------------------


def _incoming(flow, nodes):
    """Per node, the sum of the contributions along the edges into it."""
    total = {}
    for node in nodes:
        for i, p in enumerate(node.parents):
            e = flow.edge(node, i)
            if e is not None:
                assert np.shape(e) == p.shape, "a contribution not reduced to the parent"
                total[p] = total.get(p, 0.0) + e
    return total


def test_recorded_flow_into_each_node_sums_to_its_grad():
    root, inputs, nodes = _graph()
    root.backward(record_flow=True)
    order = toposort(root)
    flow = Flow.recorded(root)
    incoming = _incoming(flow, order)
    assert set(incoming) == set(order) - {root}
    for node in order[:-1]:
        np.testing.assert_allclose(incoming[node], node.grad, rtol=1e-12, atol=1e-12)
    assert len(root.flow) == len(root.parents)


def test_gradient_flow_leaves_grad_alone_and_agrees_with_backward():
    root, inputs, nodes = _graph()
    flow = gradient_flow(root)
    assert all(n.grad is None for n in toposort(root))
    root.backward(record_flow=True)
    recorded = Flow.recorded(root)
    for node in toposort(root):
        np.testing.assert_allclose(flow.grad(node), node.grad, rtol=1e-12)
        for i in range(len(node.parents)):
            a, b = flow.edge(node, i), recorded.edge(node, i)
            assert (a is None) == (b is None)
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=1e-12)


def test_flow_of_a_times_a_has_one_entry_per_edge():
    a = Tensor([2.0, 3.0], requires_grad=True)
    y = a * a
    y.sum().backward(record_flow=True)
    assert len(y.flow) == 2
    np.testing.assert_array_equal(y.flow[0], [2.0, 3.0])
    np.testing.assert_array_equal(y.flow[1], [2.0, 3.0])


# -- tags and labels ----------------------------------------------------------------------


def test_tags_stamp_nodes_and_nested_scopes_merge():
    a = Tensor([1.0], requires_grad=True, label="a")
    with tags(t=1, layer=1, role="h"):
        b = a * 2.0
        with tags(layer=2, direction="fwd"):
            c = b.tanh()
        d = c + b
    e = d.sum()
    assert b.tags == {"t": 1, "layer": 1, "role": "h"}
    assert c.tags == {"t": 1, "layer": 2, "role": "h", "direction": "fwd"}
    assert d.tags == b.tags and e.tags == {} and a.tags == {}
    assert mg.current_tags() == {}


def test_tags_do_not_change_results():
    x = np.array([0.3, -0.7])
    a1, a2 = Tensor(x, requires_grad=True), Tensor(x, requires_grad=True)
    with tags(t=5):
        y1 = (a1.tanh() * a1).sum()
    y2 = (a2.tanh() * a2).sum()
    y1.backward()
    y2.backward()
    assert y1.data == y2.data
    np.testing.assert_array_equal(a1.grad, a2.grad)


def test_every_node_records_its_op_and_label():
    a = Tensor([1.0, 2.0], requires_grad=True, label="weight")
    y = (a @ a).tanh()
    assert (a.op, a.label, y.op, y.parents[0].op) == ("", "weight", "tanh", "matmul")
    assert "weight" in repr(a) and "op=tanh" in repr(y)
    assert (a ** 2).op == "**2"


# -- detect_anomaly -----------------------------------------------------------------------


def test_anomaly_in_forward_names_op_tags_and_shapes():
    a = Tensor([[1.0, -1.0]], requires_grad=True)
    with mg.detect_anomaly(), tags(t=3), np.errstate(invalid="ignore"):
        with pytest.raises(AnomalyError) as info:
            a.log()
    msg = str(info.value)
    assert "forward" in msg and "'log'" in msg and "'t': 3" in msg and "(1, 2)" in msg


def test_anomaly_in_backward_names_op_and_shapes():
    a = Tensor([0.0, 1.0], requires_grad=True)
    with mg.detect_anomaly(), np.errstate(divide="ignore"):
        y = (a ** 0.5).sum()  # finite forward, infinite derivative at 0
        with pytest.raises(AnomalyError) as info:
            y.backward()
    msg = str(info.value)
    assert "backward" in msg and "**0.5" in msg and "(2,)" in msg


def test_without_anomaly_mode_nan_passes_silently():
    a = Tensor([-1.0], requires_grad=True)
    with np.errstate(invalid="ignore"):
        y = a.log().sum()
        y.backward()
    assert np.isnan(y.data)


# -- custom ops ---------------------------------------------------------------------------


@pytest.mark.parametrize("make_grad", [
    lambda g, x: g,                       # 0-d gradient for a (2, 3) parent
    lambda g, x: 1.0,                     # a Python number
    lambda g, x: np.ones((1, 3)) * g,     # broadcastable with a size-1 axis
    lambda g, x: np.ones(3) * g,          # broadcastable with a missing axis
])
def test_from_op_gradients_broadcastable_to_the_parent(make_grad):
    """from_op's contract: a rule may return any gradient broadcastable to the parent."""
    a = Tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    y = mg.from_op(np.asarray(a.data.sum()), (a,), lambda g: (make_grad(g, a.data),), "total")
    y.backward(record_flow=True)
    np.testing.assert_array_equal(a.grad, np.ones((2, 3)))
    assert y.flow[0].shape == (2, 3)


def test_from_op_none_gradient_skips_the_parent():
    a, b = Tensor(1.0, requires_grad=True), Tensor(2.0, requires_grad=True)
    y = mg.from_op(a.data * b.data, (a, b), lambda g: (g * b.data, None), "half")
    y.backward()
    assert a.grad == 2.0 and b.grad is None


# -- factored weight gradients (accumulate.Outer) -----------------------------------------


@pytest.mark.parametrize("fold_rows", [1, 5, 2048])
def test_factored_weight_gradients_equal_the_dense_sum(fold_rows):
    """A weight used at many steps gets g_t^T x_t from each; the engine multiplies the
    collected factors at once (every fold_rows rows). Mixed with a dense and a sliced use."""
    from microgradrnn import accumulate

    class Folding(accumulate.Fast):
        pass

    Folding.fold_rows = fold_rows  # the rows of factors held before they are multiplied
    with accumulate.using(Folding):
        _check_factored_weight_gradients()


def _check_factored_weight_gradients():
    from microgradrnn.ops import linear

    rng = np.random.default_rng(0)
    W = Tensor(rng.standard_normal((4, 3)), requires_grad=True)
    xs = [Tensor(rng.standard_normal((2, 3)), requires_grad=True) for _ in range(6)]
    h = Tensor(np.zeros((2, 4)))
    for x in xs:
        h = (linear(x, W) + h * 0.5).tanh()
    root = h.sum() + (W * W).sum() + W[1].sum()  # a dense and a sparse use as well
    root.backward(retain_graph=True, record_flow=True)
    got = W.grad.copy()
    flows = [n.flow[1] for n in toposort(root) if n.op == "linear"]
    # the same sums, computed by hand with the chain rule
    W2, xs2 = W.data, [x.data for x in xs]
    hs, zs = [np.zeros((2, 4))], []
    for x in xs2:
        zs.append(x @ W2.T + hs[-1] * 0.5)
        hs.append(np.tanh(zs[-1]))
    dW = 2 * W2
    dW[1] += 1
    dh = np.ones((2, 4))
    expected_flows = []
    for t in range(5, -1, -1):
        dz = dh * (1 - hs[t + 1] ** 2)
        expected_flows.append(dz.T @ xs2[t])
        dh = dz * 0.5
    dW += sum(expected_flows)
    np.testing.assert_allclose(got, dW, rtol=1e-12, atol=1e-12)
    for f, e in zip(flows, expected_flows, strict=True):  # per edge (toposort: t = 6 first)
        np.testing.assert_allclose(f, e, rtol=1e-12, atol=1e-12)
    flow = gradient_flow(root)
    np.testing.assert_allclose(flow.grad(W), dW, rtol=1e-12, atol=1e-12)
