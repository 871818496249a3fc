"""Classification: ImageNet networks, HOG + logistic regression on digits, Gabor textures.
Heavy libraries are imported inside the ops."""
