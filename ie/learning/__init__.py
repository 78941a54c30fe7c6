"""Learning: backbones and named starts, the SSL trainer, the data mix, features, evaluation."""
