"""Keras → TF.js layers model: read the graph, rewrite it for inference, write the topology, choose weight dtypes
(per-channel, mixed precision), write the shards, and prove the written files give Keras's numbers (self-check)."""
