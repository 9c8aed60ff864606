"""The model and its maths: activations, losses, the network's forward and backward passes,
the compiled training kernel and the Scenario it is all described by."""
