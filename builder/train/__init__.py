"""``browsernet train``: a folder of labelled photos → content-hash split → cached features → head (and fine-tuning) → evaluation → model."""
