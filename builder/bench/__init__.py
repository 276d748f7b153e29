"""Measuring a built site in headless Chromium against the alternatives: a TF.js graph model, LiteRT.js and onnxruntime-web."""
