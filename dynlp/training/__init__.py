"""Training: the loop (one fresh graph per batch: loss, backward, update), its schedule, the
weight average, and the recipes that go from sentences to a trained model directory."""
