"""Where models come from: the MobileNet zoo and users' files, labels, input preprocessing, a quiet TensorFlow."""
