"""The exploration loop: one module per stage, a typed run context, and the driver that runs them."""
