"""browsernet: turn a Keras MobileNet into a static site that classifies in the browser."""

__version__ = "0.1.0"
