"""Generation: images sampled or predicted by trained models (GAN and VAE samples, VAE
interpolation, RBM Gibbs samples, colorization)."""
