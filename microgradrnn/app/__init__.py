"""The application on top of the library: the ``microgradrnn`` command (``cli``), the
``demo`` it runs, the ``render`` command, the demo's model (``seqmodel``), never
overwriting a file we did not write (``outfiles``), a progress bar and a small SVG line
chart. The library (engine, nn, optim, viz) never imports this package.
"""
