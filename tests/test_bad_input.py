"""Bad input, found by trying as a careless user would: each case gets a clear error that
names the op, the argument or the file (or the behaviour PyTorch users expect), and
nothing is left half done. Grouped by where the input enters the library."""

# -- the engine: tensors, backward, in-place writes ------------------------------------


# -- layers, cells, modules and optimizers ---------------------------------------------


# -- files, the command line, the demo and the renderer's engine -----------------------
